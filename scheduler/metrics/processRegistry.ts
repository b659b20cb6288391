import { collectDefaultMetrics, Registry } from 'prom-client'

let shared: Registry | undefined

/**
 * Node's process metrics (prom-client's default metrics: CPU, memory, heap, event-loop delay, GC),
 * in one registry per process: they describe the process, whichever scheduler serves them, and
 * their collectors (an event-loop delay monitor, a GC observer) are never stopped, so every
 * scheduler a process starts shares them instead of adding its own. Not prom-client's global registry.
 */
export function processRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry()
    collectDefaultMetrics({ register: shared })
  }
  return shared
}

/**
 * Reading them costs more than rendering all of a scheduler's own metrics (the event-loop delay's
 * percentiles and deviation walk a histogram; open files are a directory listing): scrapes within
 * this many ms of the last reading share its text.
 */
export const PROCESS_METRICS_MAX_AGE_MS = 5000

let last: { at: number; text: Promise<string> } | undefined

/** The process metrics' exposition text, re-read at most every {@link PROCESS_METRICS_MAX_AGE_MS}. */
export function processMetricsText(): Promise<string> {
  const now = performance.now()
  if (last === undefined || now - last.at > PROCESS_METRICS_MAX_AGE_MS) {
    const entry = { at: now, text: processRegistry().metrics() }
    last = entry
    entry.text.catch(() => {
      if (last === entry) last = undefined
    })
  }
  return last.text
}
