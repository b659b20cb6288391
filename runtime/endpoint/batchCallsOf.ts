import { MAX_BATCH_CALLS } from '../../schemas/batch.js'
import { codedMessage } from '../../schemas/errors/codedMessage.js'

/**
 * The calls of a parsed batch body (schemas/batch.ts `BatchRequest`), or why it is not one: the
 * refusal's message, with its code. Each call is checked as a RunRequest later, on its own line.
 */
export function batchCallsOf(message: unknown): readonly unknown[] | string {
  const calls =
    typeof message === 'object' && message !== null && !Array.isArray(message)
      ? (message as { calls?: unknown }).calls
      : undefined
  if (!Array.isArray(calls)) {
    return codedMessage(
      'DSP2272',
      `the batch is not {"calls":[RunRequest, …]}: ${describe(message, calls)}; send the calls of the batch as an array in "calls"`,
    )
  }
  if (calls.length === 0 || calls.length > MAX_BATCH_CALLS) {
    return codedMessage(
      'DSP2273',
      `the batch has ${calls.length} calls; this endpoint takes 1 to ${MAX_BATCH_CALLS} in one batch (its dispatch-batch header)`,
    )
  }
  return calls
}

function describe(message: unknown, calls: unknown): string {
  if (typeof message !== 'object' || message === null)
    return `the body is ${message === null ? 'null' : typeof message}`
  if (Array.isArray(message)) return 'the body is an array'
  if (calls === undefined) return 'it has no "calls"'
  return `"calls" is ${calls === null ? 'null' : typeof calls}`
}
