/** A duration as a number of milliseconds or a string like `'250ms'`, `'10s'`, `'5m'`, `'2h'`, `'1d'`. */
export type DurationInput = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

/** Options of one dispatched call. */
export interface CallOptions {
  /** The same key within the scheduler's retention window returns the first call's id and stores nothing new. */
  idempotencyKey?: string
  /** Run no earlier than this long from now. */
  delay?: DurationInput
  /** Run no earlier than this instant. */
  notBefore?: Date
  /** Give up (status of the last attempt) when the call has not succeeded within this long. */
  expiration?: DurationInput
  /** Give up after this many attempts. */
  maxAttempts?: number
  /** The tenant the call is fair-scheduled under. */
  fairnessKey?: string
  /**
   * This call's priority, 0 (default) to 100: within its fairness queue it is claimed as if it had
   * been waiting `priority` steps longer (docs/flow-control.md). Wins over the function's `@priority`.
   */
  priority?: number
  /**
   * For a durable call inside a running dispatch function (`.call`): keep the child running when
   * the function ends before it (a race's loser, fire-and-forget). Without it, children still
   * running when their parent returns or fails are cancelled. Ignored outside a dispatch function.
   */
  detached?: boolean
}
