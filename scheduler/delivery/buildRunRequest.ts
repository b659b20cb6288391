import type { RunRequest } from 'dispatch-functions/protocol'
import { toTimestamp } from 'dispatch-functions/protocol'
import type { StoredCall } from '../store/store.js'

// Calls claimed together were mostly dispatched together: the same creation millisecond, formatted once.
let lastCreatedAt = Number.NaN
let lastCreationTime = ''

function creationTimeOf(createdAt: number): string {
  if (createdAt !== lastCreatedAt) {
    lastCreationTime = toTimestamp(createdAt)
    lastCreatedAt = createdAt
  }
  return lastCreationTime
}

/**
 * The RunRequest of a claimed call: its function and input (a resumed coroutine: its `pollResult`), ids,
 * creation and expiration times, and its trace context.
 */
export function buildRunRequest(call: StoredCall): RunRequest {
  const request: RunRequest = {
    function: call.function,
    dispatchId: call.dispatchId,
    rootDispatchId: call.rootDispatchId ?? call.dispatchId,
    creationTime: creationTimeOf(call.createdAt),
  }
  if (call.poll !== undefined) {
    // A resumed coroutine gets its state back verbatim, with the results waiting for it.
    request.pollResult = { ...call.poll.state, results: call.results.map((r) => r.result) }
    if (call.poll.error !== undefined) request.pollResult.error = call.poll.error
  } else if (call.input !== undefined) request.input = call.input
  if (call.parentDispatchId !== undefined) request.parentDispatchId = call.parentDispatchId
  // Clamped into RFC 3339's years: an expiration stored by an older version beyond them still delivers.
  if (call.expiresAt !== undefined) request.expirationTime = toTimestamp(call.expiresAt)
  // Every attempt continues the trace the call was dispatched in (docs/protocol.md §16).
  if (call.traceparent !== undefined) request.traceparent = call.traceparent
  return request
}
