import type { CallInfo } from 'dispatch-functions/protocol'
import { durationText } from './durationText.js'

/**
 * What `calls get` says of a debounced call (docs/flow-control.md): why it waits, while its window
 * is open (`waiting: debounced until <time>`), and its debounce. Undefined where there is nothing to say.
 */
export function formatDebounce(call: CallInfo): { waiting: string | undefined; debounce: string | undefined } {
  const debounce = call.debounce
  if (debounce === undefined) return { waiting: undefined, debounce: undefined }
  const latest = debounce.until === undefined ? '' : `, at the latest ${debounce.until}`
  const waiting =
    call.waiting === 'debounced'
      ? `debounced until ${call.nextAttemptAt} (a call of its key dispatched before then collapses into it and pushes it back${latest})`
      : undefined
  const key = debounce.key === '' ? 'all calls of the function' : `key ${JSON.stringify(debounce.key)}`
  const dispatches =
    debounce.dispatches === 1 ? 'no other call collapsed into it' : `it stands for ${debounce.dispatches} dispatches`
  return {
    waiting,
    debounce: `${durationText(debounce.windowMs)} for ${key}, keeps the ${debounce.keep} input; ${dispatches}`,
  }
}
