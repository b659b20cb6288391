import { DispatchError } from '../../schemas/errors/dispatchError.js'

/** How a durable step ended without a value: the type and message of the error its `fn` threw last. */
export interface StepFailure {
  readonly step: string
  readonly attempts: number
  readonly error: { readonly type: string; readonly message: string }
}

/**
 * A durable `step(name, fn)` failed: its last attempt threw an error that is not retried, or it
 * used up its attempts. Only what survives replay is kept — the error's type (its class name) and
 * message, and the attempts — so the function sees the same error when it first runs the step and
 * when a later turn replays it. Uncaught, it fails the call with `STATUS_PERMANENT_ERROR`: the
 * step already had its retries.
 *
 * @example
 * ```ts
 * try { await step('charge', () => payments.charge(order)) }
 * catch (e) { if (e instanceof StepFailedError && e.errorType === 'CardDeclined') return 'declined'; throw e }
 * ```
 */
export class StepFailedError extends DispatchError {
  /** The step's name. */
  readonly stepName: string
  /** The type of the error the last attempt threw (its class name, `TimeoutError` for a step's timeout). */
  readonly errorType: string
  /** The message of that error. */
  readonly errorMessage: string
  /** How many times the step's `fn` ran. */
  readonly attempts: number

  constructor(failure: StepFailure) {
    const times = failure.attempts === 1 ? 'once' : `${failure.attempts} times`
    super('DSP2260', `step ${failure.step} failed (ran ${times}): ${failure.error.type}: ${failure.error.message}`, {
      hint: "catch StepFailedError to handle it, or widen the step's attempts / retry",
    })
    this.name = 'StepFailedError'
    this.stepName = failure.step
    this.errorType = failure.error.type
    this.errorMessage = failure.error.message
    this.attempts = failure.attempts
  }
}
