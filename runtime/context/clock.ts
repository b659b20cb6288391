/** A source of time for the runtime: the real one, or a test environment's. */
export interface RuntimeClock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Calls `fire` once the clock reaches `at`; the returned function cancels it. */
  timer(at: number, fire: () => void): () => void
}

const realClock: RuntimeClock = {
  now: Date.now,
  timer(at, fire) {
    const handle = setTimeout(fire, Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1))
    // Such a timer must not keep a process that is shutting down alive.
    handle.unref?.()
    return () => clearTimeout(handle)
  },
}

let current: RuntimeClock = realClock

/**
 * The runtime's time, in milliseconds since the epoch: `Date.now()`, unless a test environment
 * (`dispatch-functions-tools/testing`) runs functions on its own clock. Durable timers, the
 * journaled `now()` and a call's expiration signal follow it, so they agree with the scheduler's time.
 */
export function clockNow(): number {
  return current.now()
}

/** Calls `fire` when the runtime's clock reaches `at` (a real timer, or the test environment's). */
export function clockTimer(at: number, fire: () => void): () => void {
  return current.timer(at, fire)
}

/**
 * Runs the runtime on `clock` until the returned function is called (the test environment's clock).
 * Restoring is a no-op unless `clock` is still the one in use, so environments closed out of order
 * never leave a stale clock behind.
 */
export function useClock(clock: RuntimeClock): () => void {
  const previous = current
  current = clock
  return () => {
    if (current === clock) current = previous
  }
}
