import { type DispatchCall, dspError, MAX_DEBOUNCE_MS, MIN_DEBOUNCE_MS } from 'dispatch-functions/protocol'
import type { NewCall } from '../store/store.js'
import { ConnectRefusal } from './connectError.js'
import type { CallPolicies, DebouncePolicy } from './retryPolicy.js'

/**
 * A dispatched call with its debounce (docs/flow-control.md), from the scheduler's config for its
 * function (window, max wait, keep) or else its declaration (`flow.debounce`), the key always the
 * declared one ('' without one: all the function's calls together). A debounced call is due one
 * window after its dispatch, whatever its priority: the window is its delay, so it takes no `delay`
 * or `notBefore` of its own (DSP3070). `call` comes back as is without a debounce.
 *
 * Only the Dispatch API applies it: a coroutine's child awaits its own result, so a Poll's calls are
 * never debounced (their `flow.debounce` is not read).
 */
export function withDebounce(
  row: NewCall,
  call: DispatchCall,
  index: number,
  options: CallPolicies,
  now: number,
): NewCall {
  const declared = call.flow?.debounce
  const configured = options.functions[call.function]?.debounce
  if (declared === undefined && configured === undefined) return row
  const refuse = (code: string, message: string): never => {
    throw new ConnectRefusal('invalid_argument', `${code}: call ${index}: ${message}`)
  }
  if (declared?.key?.includes('\u0000'))
    refuse('DSP3011', 'flow.debounce.key must not contain a NUL character (\\u0000)')
  const windowMs = configured?.windowMs ?? declared!.windowMs
  const maxMs = configured === undefined ? declared?.maxMs : configured.maxMs
  if (maxMs !== undefined && maxMs < windowMs)
    refuse('DSP3071', `flow.debounce.maxMs (${maxMs}) is shorter than its windowMs (${windowMs})`)
  if (call.delay !== undefined || call.notBefore !== undefined)
    refuse('DSP3070', 'a debounced call takes no delay or notBefore: its debounce window is its delay')
  return {
    ...row,
    dueAt: now + windowMs,
    debounce: {
      key: declared?.key ?? '',
      keep: configured?.keep ?? declared?.keep ?? 'last',
      windowMs,
      until: maxMs === undefined ? undefined : now + maxMs,
    },
  }
}

/** Checks the `debounce` of a function in the scheduler's options (DSP3005 when it is not usable). */
export function checkDebouncePolicy(where: string, debounce: DebouncePolicy): void {
  const ms = (value: unknown) =>
    Number.isInteger(value) && (value as number) >= MIN_DEBOUNCE_MS && (value as number) <= MAX_DEBOUNCE_MS
  const { windowMs, maxMs, keep } = debounce ?? {}
  if (
    typeof debounce !== 'object' ||
    !ms(windowMs) ||
    (maxMs !== undefined && !(ms(maxMs) && maxMs >= windowMs)) ||
    (keep !== undefined && keep !== 'last' && keep !== 'first')
  ) {
    throw dspError('DSP3005', `the scheduler option ${where}.debounce is ${JSON.stringify(debounce)}`, {
      hint: `debounce is { windowMs, maxMs?, keep? }: windowMs and maxMs whole numbers of ms from ${MIN_DEBOUNCE_MS} to ${MAX_DEBOUNCE_MS}, maxMs not below windowMs, keep 'last' or 'first' (docs/flow-control.md)`,
    })
  }
}
