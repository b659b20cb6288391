import type { AttemptInfo, CallInfo } from 'dispatch-functions/protocol'

/**
 * `dispatch calls get`'s restarts of a coroutine from its input (its code or declared version
 * changed, or its replay diverged), one line per restart the attempt history still holds, with
 * the endpoint's whole reason: the history's excerpt cuts it, and the reason is what to act on.
 * Empty when the call never restarted.
 */
export function formatRestarts(call: CallInfo, attempts: readonly AttemptInfo[]): string[] {
  const count = call.restarts ?? 0
  const restarts = attempts.filter((a) => a.outcome === 'restart')
  if (count === 0 && restarts.length === 0) return []
  const total = Math.max(count, restarts.length)
  const older = total - restarts.length
  const lines = [
    `restarts:  ${total} (started again from its input${older > 0 ? `; ${older} older than the history below` : ''})`,
  ]
  for (const a of restarts) {
    const reason = a.error === undefined ? a.status : a.error.message.replace(/\s+/g, ' ')
    lines.push(`  #${a.attempt}  ${a.finishedAt}  ${reason}`)
  }
  return lines
}
