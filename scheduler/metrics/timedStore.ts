import type { Store } from '../store/store.js'

/** The store methods whose latency `dispatch_store_seconds` records, by `operation`. */
export const TIMED_OPERATIONS = ['insertCalls', 'completeAttempts', 'claimCalls', 'claimQueues'] as const
export type TimedOperation = (typeof TIMED_OPERATIONS)[number]

/**
 * The store, with the commits of accepting, claiming and recording timed: each timed method
 * reports how long its promise took (resolved or rejected). Every other member is the store's own,
 * bound to it (stores keep private state), so a capability the store lacks stays absent.
 */
export function timedStore(store: Store, observe: (operation: TimedOperation, seconds: number) => void): Store {
  const timed = new Map<PropertyKey, unknown>()
  for (const operation of TIMED_OPERATIONS) {
    const method = store[operation] as ((...args: unknown[]) => Promise<unknown>) | undefined
    if (method === undefined) continue
    timed.set(operation, async (...args: unknown[]) => {
      const started = performance.now()
      try {
        return await method.apply(store, args)
      } finally {
        observe(operation, (performance.now() - started) / 1000)
      }
    })
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, property) {
      const own = timed.get(property)
      if (own !== undefined) return own
      const value = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let method = bound.get(property)
      if (method === undefined) {
        method = value.bind(target)
        bound.set(property, method)
      }
      return method
    },
  })
}
