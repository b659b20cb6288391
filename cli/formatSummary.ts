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
 * One line per the whole scheduler: for each function, pending (of which retrying) / running /
 * done / failed, then each endpoint's attempts in flight and adaptive limit, e.g.
 * `publish: 3 pending (1 retrying), 2 running, 290 done, 0 failed | endpoint http://127.0.0.1:8000: 2 in flight, limit 33 (bounds 1-100)`.
 */
export function formatSummary(counts: readonly SummaryCounts[], endpoints: readonly EndpointLimit[] = []): string {
  const functions = functionSummaries(counts)
  if (functions.length === 0) return 'no calls yet'
  return [...functions, ...endpoints.map((e) => `endpoint ${endpointSummary(e)}`)].join(' | ')
}

/** `publish: 3 pending (1 retrying), 2 running, 290 done, 0 failed`, one per function, sorted by name. */
export function functionSummaries(counts: readonly SummaryCounts[]): string[] {
  const byFunction = new Map<
    string,
    { pending: number; retrying: number; running: number; done: number; failed: number }
  >()
  for (const row of counts) {
    const entry = byFunction.get(row.function) ?? { pending: 0, retrying: 0, running: 0, done: 0, failed: 0 }
    if (row.state === 'pending' || row.state === 'suspended') {
      entry.pending += row.count
      entry.retrying += row.retrying
    } else if (row.state === 'running') entry.running += row.count
    else if (row.state === 'succeeded') entry.done += row.count
    else entry.failed += row.count // failed and cancelled: finished without an output
    byFunction.set(row.function, entry)
  }
  return [...byFunction.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([name, c]) =>
        `${name}: ${c.pending} pending${c.retrying ? ` (${c.retrying} retrying)` : ''}, ${c.running} running, ${c.done} done, ${c.failed} failed`,
    )
}

/** `http://127.0.0.1:8000: 2 in flight, limit 33 (bounds 1-100)`. */
export function endpointSummary(e: EndpointLimit): string {
  return `${e.endpoint}: ${e.inFlight} in flight, limit ${e.limit} (bounds ${e.min}-${e.max})`
}
