import type { CallInfo } from '../../schemas/callService.js'
import { DispatchError } from '../../schemas/errors/dispatchError.js'

/** How a durable call (`.call` inside a coroutine) ended without an output, as its CallResult said. */
export interface DurableCallFailure {
  readonly function: string
  readonly dispatchId: string | undefined
  readonly error: { readonly type: string; readonly message: string }
}

/**
 * A call awaited with `.call(...)` ended without an output: it failed (its error's `type` and
 * `message` are kept) or was cancelled. Inside a coroutine the error comes from the child's
 * CallResult (`call` is then undefined and `durable` true).
 *
 * @example
 * ```ts
 * try { await dispatchClient.charge.call(userId) }
 * catch (e) { if (e instanceof CallFailedError && e.errorType === 'CardDeclined') return 'declined'; throw e }
 * ```
 */
export class CallFailedError extends DispatchError {
  /** The error type the function reported (its class name), when it failed. */
  readonly errorType: string | undefined
  /** The message of the function's error, when it failed. */
  readonly errorMessage: string | undefined
  readonly dispatchId: string | undefined
  readonly functionName: string
  /** What the scheduler reported of the call (outside coroutines). */
  readonly call: CallInfo | undefined
  /** True for a durable call of a coroutine: the child had already used up its own retries. */
  readonly durable: boolean

  constructor(call: CallInfo | DurableCallFailure) {
    const durable = !('state' in call)
    const id = call.dispatchId ?? '(no id)'
    const what = durable
      ? `failed: ${call.error.type}: ${call.error.message}`
      : call.state === 'cancelled'
        ? 'was cancelled'
        : `failed with ${call.status ?? 'an unknown status'}${call.error ? `: ${call.error.type}: ${call.error.message}` : ''}`
    super('DSP2006', `call ${id} (${call.function}) ${what}`, {
      hint:
        call.dispatchId === undefined
          ? 'the scheduler could not start the call: check its function name and endpoint'
          : `inspect it with \`dispatch calls get ${id}\`; redrive it with \`dispatch calls redrive ${id}\``,
    })
    this.name = 'CallFailedError'
    this.errorType = call.error?.type
    this.errorMessage = call.error?.message
    this.dispatchId = call.dispatchId
    this.functionName = call.function
    this.call = durable ? undefined : call
    this.durable = durable
  }
}
