import type { CallInfo } from '../../schemas/callService.js'
import { DispatchError } from '../errors/dispatchError.js'

/**
 * A call awaited with `.call(...)` ended without an output: it failed (its error's `type` and
 * `message` are kept) or was cancelled.
 */
export class CallFailedError extends DispatchError {
  /** The error type the function reported (its class name), when it failed. */
  readonly errorType: string | undefined
  readonly call: CallInfo

  constructor(call: CallInfo) {
    const what =
      call.state === 'cancelled'
        ? 'was cancelled'
        : `failed with ${call.status ?? 'an unknown status'}${call.error ? `: ${call.error.type}: ${call.error.message}` : ''}`
    super('DSP2006', `call ${call.dispatchId} (${call.function}) ${what}`, {
      hint: `inspect it with \`dispatch calls get ${call.dispatchId}\`; redrive it with \`dispatch calls redrive ${call.dispatchId}\``,
    })
    this.name = 'CallFailedError'
    this.errorType = call.error?.type
    this.call = call
  }
}
