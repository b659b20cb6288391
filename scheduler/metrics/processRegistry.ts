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
