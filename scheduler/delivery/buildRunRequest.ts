import type { RunRequest } from '../../schemas/run.js'
import type { StoredCall } from '../store/store.js'

/** The RunRequest of a claimed call: its function and input, ids, and creation and expiration times. */
export function buildRunRequest(call: StoredCall): RunRequest {
  const request: RunRequest = {
    function: call.function,
    dispatchId: call.dispatchId,
    rootDispatchId: call.rootDispatchId ?? call.dispatchId,
    creationTime: new Date(call.createdAt).toISOString(),
  }
  if (call.input !== undefined) request.input = call.input
  if (call.parentDispatchId !== undefined) request.parentDispatchId = call.parentDispatchId
  if (call.expiresAt !== undefined) request.expirationTime = new Date(call.expiresAt).toISOString()
  return request
}
