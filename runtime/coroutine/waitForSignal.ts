import { dspError } from '../../schemas/errors/dspError.js'
import type { DurationInput } from '../client/callOptions.js'
import { toMilliseconds } from '../client/duration.js'
import { clockNow } from '../context/clock.js'
import { InvalidArgumentError } from '../errors/functionError.js'
import { currentCoroutine } from './currentCoroutine.js'
import { signalPayloadProblem } from './signalPayloadCheck.js'

/** Options of {@link waitForSignal}. */
export interface WaitForSignalOptions {
  /** Give up after this long: the wait throws a `SignalTimeoutError`. Default: wait as long as the call lives. */
  readonly timeout?: DurationInput
  /**
   * A JSON Schema (a TypeBox schema) the payload must match; a signal whose payload does not is
   * received (it resolves the wait) but the wait throws an `InvalidArgumentError` naming why.
   */
  readonly schema?: object
}

/**
 * Suspends the coroutine until a signal named `name` is sent to this call
 * (`createCallServiceClient().signal(dispatchId, name, payload)`, or `dispatch calls signal`), and
 * resolves to its JSON payload. No process holds anything while it waits, as with `sleep`. A signal
 * sent before the function waits for it is kept until it does; each signal resolves one wait.
 * With `timeout`, the wait throws a {@link SignalTimeoutError} when no signal came in time.
 *
 * The payload comes from outside: give `schema` to check it (the wait then throws an
 * `InvalidArgumentError`, status `INVALID_ARGUMENT`, for a payload that does not match).
 *
 * @example
 * ```ts
 * const approval = await waitForSignal<{ approved: boolean }>('approval', { timeout: '1d' })
 * ```
 */
export function waitForSignal<T = unknown>(name: string, options: WaitForSignalOptions = {}): Promise<T> {
  if (typeof name !== 'string' || name === '' || name.length > 256) {
    throw dspError('DSP2265', `waitForSignal(${JSON.stringify(name)}): the name must be 1 to 256 characters`)
  }
  const ms = options.timeout === undefined ? undefined : toMilliseconds(options.timeout, 'waitForSignal timeout')
  const coroutine = currentCoroutine()
  if (coroutine === undefined) {
    throw dspError(
      'DSP2265',
      `waitForSignal(${JSON.stringify(name)}) outside a running dispatch function (or inside a step): no call can receive the signal`,
    )
  }
  const waiting = coroutine.signal(name, ms === undefined ? undefined : clockNow() + ms) as Promise<T>
  const { schema } = options
  if (schema === undefined) return waiting
  const checked = waiting.then((payload) => {
    const problem = signalPayloadProblem(schema, payload)
    if (problem !== undefined) {
      throw new InvalidArgumentError(
        `the payload of signal ${JSON.stringify(name)} does not match its schema: ${problem}`,
      )
    }
    return payload
  })
  // A wait nobody awaits must not end the process with an unhandled rejection.
  checked.catch(() => {})
  return checked
}
