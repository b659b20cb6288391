let current: () => number = Date.now

/**
 * The runtime's time, in milliseconds since the epoch: `Date.now()`, unless a test environment
 * (`dispatch-functions-tools/testing`) runs functions on its own clock. Durable timers, the
 * journaled `now()` and a call's expiration signal read it, so they agree with the scheduler's time.
 */
export function clockNow(): number {
  return current()
}

/** Runs the runtime on `now` until the returned function is called (the test environment's clock). */
export function useClock(now: () => number): () => void {
  const previous = current
  current = now
  return () => {
    current = previous
  }
}
