import { DispatchError } from '../../schemas/errors/dispatchError.js'

/**
 * `waitForSignal(name, { timeout })`: no signal of that name came in time. The same on every replay
 * (the timeout is journaled). Uncaught, it fails the call with `STATUS_PERMANENT_ERROR`.
 *
 * @example
 * ```ts
 * try { return await waitForSignal<Approval>('approval', { timeout: '1d' }) }
 * catch (e) { if (e instanceof SignalTimeoutError) return { approved: false }; throw e }
 * ```
 */
export class SignalTimeoutError extends DispatchError {
  /** The signal waited for. */
  readonly signalName: string

  constructor(name: string, message: string) {
    super('DSP2264', message, { hint: 'catch SignalTimeoutError to go on without it, or wait longer' })
    this.name = 'SignalTimeoutError'
    this.signalName = name
  }
}
