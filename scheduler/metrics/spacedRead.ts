/**
 * Reading the store's counts or backlog is a scan (on SQLite it holds the event loop): a scrape
 * reuses the last result while it is younger than this many times what it cost, so reading takes
 * at most ~1 % of the time...
 */
const COST_FACTOR = 100
/**
 * ...and by default never more often than this, in ms, however cheap: under Prometheus' default
 * 15 s scrape interval, so scraped at it every scrape reads afresh; a scrape every second reads one
 * time in ten.
 */
export const MIN_AGE_MS = 10_000

/**
 * A store read that scrapes share: re-run only when the last one is older than 10 s (or the given
 * age) and than 100 times what it cost; concurrent scrapes wait for the same read. Undefined when the store cannot
 * answer (the gauges keep their last values; the next scrape tries again).
 */
export class SpacedRead<T> {
  private last: { at: number; costMs: number; value: Promise<T> } | undefined

  constructor(
    private readonly read: () => Promise<T>,
    private readonly minAgeMs = MIN_AGE_MS,
  ) {}

  get(): Promise<T | undefined> {
    const now = performance.now()
    const last = this.last
    if (last === undefined || now - last.at > Math.max(this.minAgeMs, last.costMs * COST_FACTOR)) {
      // Until the read ends its cost is unknown (infinite): concurrent scrapes share it.
      const entry = { at: now, costMs: Number.POSITIVE_INFINITY, value: this.read() }
      this.last = entry
      entry.value.then(
        () => {
          entry.costMs = performance.now() - now
        },
        () => {
          entry.costMs = 0 // a failure is not kept: the next scrape reads again
          entry.at = Number.NEGATIVE_INFINITY
        },
      )
    }
    return this.last!.value.catch(() => undefined)
  }
}
