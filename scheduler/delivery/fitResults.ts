import type { StoredCall } from '../store/store.js'

/** Endpoints refuse requests over 16 MiB (docs/protocol.md §17); a resumed turn stays this far below it. */
export const MAX_RUN_REQUEST_BYTES = 16 * 1024 * 1024 - 256 * 1024

/**
 * A resumed coroutine with as many of its waiting results (oldest first) as fit in one RunRequest
 * beside its state, at least one: the others wait for the next turn. Delivery and the recorded
 * outcome both use the trimmed call, so only results that were sent are consumed.
 */
export function fitResults(call: StoredCall, limit = MAX_RUN_REQUEST_BYTES): StoredCall {
  if (call.poll === undefined || call.results.length <= 1) return call
  const state = call.poll.state
  let size =
    (state.coroutineState?.length ?? 0) +
    (state.typedCoroutineState ? Buffer.byteLength(JSON.stringify(state.typedCoroutineState)) : 0)
  let fit = 0
  for (const { result } of call.results) {
    size += Buffer.byteLength(JSON.stringify(result)) + 1
    if (size > limit && fit > 0) break
    fit++
  }
  return fit === call.results.length ? call : { ...call, results: call.results.slice(0, fit) }
}
