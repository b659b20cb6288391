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
  // `restarts` starts again at a tail call or a redrive, the history does not: say both, not a sum.
  const lines = [
    `restarts:  ${count} since the last tail call or redrive (started again from its input); ${restarts.length} in the history below`,
  ]
  for (const a of restarts) {
    const reason = a.error === undefined ? a.status : terminalSafe(a.error.message)
    lines.push(`  #${a.attempt}  ${a.finishedAt}  ${reason}`)
  }
  return lines
}

/** One line of text an endpoint sent, safe on a terminal: control characters (escapes) become spaces. */
export function terminalSafe(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it removes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ')
}
