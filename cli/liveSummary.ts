import { type EndpointLimit, formatSummary, type SummaryCounts } from './formatSummary.js'

/**
 * What `dispatch run` shows while the app runs: on a terminal, one line redrawn in place;
 * otherwise a plain log line whenever the counts change. Each endpoint's adaptive concurrency (attempts
 * in flight, limit, bounds) follows the counts. Both on stderr, since stdout is the app's.
 * Returns a function that stops it and prints the final line.
 */
export function startLiveSummary(
  stats: () => Promise<readonly SummaryCounts[] & { readonly endpoints?: readonly EndpointLimit[] }>,
  tty: boolean,
): () => Promise<void> {
  let last = ''
  let busy = false
  const draw = async (final: boolean) => {
    if (busy) return
    busy = true
    try {
      const counts = await stats()
      const line = formatSummary(counts, counts.endpoints)
      if (tty) {
        const width = process.stderr.columns || 120
        process.stderr.write(`\r\x1b[2K${`dispatch: ${line}`.slice(0, width - 1)}${final ? '\n' : ''}`)
      } else if (line !== last || final) {
        process.stderr.write(`dispatch: ${line}\n`)
      }
      last = line
    } catch {
      // The store is closing or busy; the next tick tries again.
    } finally {
      busy = false
    }
  }
  const timer = setInterval(() => void draw(false), tty ? 500 : 2000)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await draw(true)
  }
}
