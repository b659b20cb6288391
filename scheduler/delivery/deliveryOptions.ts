import type { CallPolicies } from '../calls/retryPolicy.js'

/** What delivery takes of the scheduler's options, defaults filled in (see `SchedulerOptions`). */
export interface DeliveryOptions extends CallPolicies {
  /** The scheduler's clock, in ms since the epoch: `Date.now` unless a test environment moves time. */
  readonly now: () => number
  /** Attempts in flight at once, over all endpoints. */
  readonly concurrency: number
  /** Without a wake-up, look for due calls this often, in ms. */
  readonly pollIntervalMs: number
}
