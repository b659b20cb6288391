/** Counts per function and state, as `Scheduler.stats()` returns them. */
export interface SummaryCounts {
  readonly function: string
  readonly state: string
  readonly count: number
  readonly retrying: number
}

/** One endpoint's adaptive concurrency, as `Scheduler.stats().endpoints` and the CallService's Stats give it. */
export interface EndpointLimit {
  readonly endpoint: string
  readonly limit: number
  readonly min: number
  readonly max: number
  readonly inFlight: number
}

/**
 * One line per the whole scheduler: for each function, its calls per state (the states' own names,
 * as `dispatch calls` and the docs use them), then each endpoint's attempts in flight and adaptive limit, e.g.
 * `publish: 3 pending (1 retrying), 2 running, 290 succeeded, 0 failed | endpoint http://127.0.0.1:8000: 2 in flight, limit 33 (bounds 1-100)`.
 */
export function formatSummary(counts: readonly SummaryCounts[], endpoints: readonly EndpointLimit[] = []): string {
  const functions = functionSummaries(counts)
  if (functions.length === 0) return 'no calls yet'
  return [...functions, ...endpoints.map((e) => `endpoint ${endpointSummary(e)}`)].join(' | ')
}

/** The states in their life's order; suspended and cancelled are shown only when some call is in them. */
const STATES = ['pending', 'running', 'suspended', 'succeeded', 'failed', 'cancelled'] as const
const SHOWN_WHEN_ZERO: ReadonlySet<string> = new Set(['pending', 'running', 'succeeded', 'failed'])

/** `publish: 3 pending (1 retrying), 2 running, 290 succeeded, 0 failed`, one per function, sorted by name. */
export function functionSummaries(counts: readonly SummaryCounts[]): string[] {
  const byFunction = new Map<string, { counts: Map<string, number>; retrying: number }>()
  for (const row of counts) {
    const entry = byFunction.get(row.function) ?? { counts: new Map<string, number>(), retrying: 0 }
    entry.counts.set(row.state, (entry.counts.get(row.state) ?? 0) + row.count)
    if (row.state === 'pending') entry.retrying += row.retrying
    byFunction.set(row.function, entry)
  }
  return [...byFunction.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, entry]) => {
      const parts = STATES.flatMap((state) => {
        const n = entry.counts.get(state) ?? 0
        if (n === 0 && !SHOWN_WHEN_ZERO.has(state)) return []
        const retrying = state === 'pending' && entry.retrying > 0 ? ` (${entry.retrying} retrying)` : ''
        return [`${n} ${state}${retrying}`]
      })
      return `${name}: ${parts.join(', ')}`
    })
}

/** `http://127.0.0.1:8000: 2 in flight, limit 33 (bounds 1-100)`. */
export function endpointSummary(e: EndpointLimit): string {
  return `${e.endpoint}: ${e.inFlight} in flight, limit ${e.limit} (bounds ${e.min}-${e.max})`
}
