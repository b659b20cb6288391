/** Counts per function and state, as `Scheduler.stats()` returns them. */
export interface SummaryCounts {
  readonly function: string
  readonly state: string
  readonly count: number
  readonly retrying: number
}

/**
 * One line per the whole scheduler: for each function, pending (of which retrying) / running /
 * done / failed, e.g. `publish: 3 pending (1 retrying), 2 running, 290 done, 0 failed`.
 */
export function formatSummary(counts: readonly SummaryCounts[]): string {
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
  if (byFunction.size === 0) return 'no calls yet'
  return [...byFunction.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([name, c]) =>
        `${name}: ${c.pending} pending${c.retrying ? ` (${c.retrying} retrying)` : ''}, ${c.running} running, ${c.done} done, ${c.failed} failed`,
    )
    .join(' | ')
}
