import type { CallPolicies } from '../calls/retryPolicy.js'
import type { ResolvedApiTimeouts } from './apiTimeouts.js'

/** What the API takes of the scheduler's options, defaults filled in (see `SchedulerOptions`). */
export interface ApiOptions extends CallPolicies {
  /** The scheduler's clock, in ms since the epoch: `Date.now` unless a test environment moves time. */
  readonly now: () => number
  readonly idempotencyWindowMs: number
  /** The largest request body, in bytes. */
  readonly bodyLimit: number
  readonly apiTimeouts: ResolvedApiTimeouts
  /** A List page stops once its calls add up to this many bytes of messages. */
  readonly listPageBytes: number
  /** List leaves out a message over this many bytes. */
  readonly listMessageBytes: number
}
