import { toTimestamp } from '../../runtime/client/duration.js'
import type { CallInfo } from '../../schemas/callService.js'
import type { StoredCall } from '../store/store.js'

// Never throws: a time stored by an older version beyond a Date's range reads as the latest timestamp.
const iso = toTimestamp

/** The CallService view of a stored call (lease details stay internal). */
export function toCallInfo(call: StoredCall): CallInfo {
  const info: CallInfo = {
    dispatchId: call.dispatchId,
    function: call.function,
    endpoint: call.endpoint,
    state: call.state,
    attempts: call.attempts,
    createdAt: iso(call.createdAt),
    updatedAt: iso(call.updatedAt),
  }
  if (call.status !== undefined) info.status = call.status
  // Suspended: when it resumes at the latest (its deadline or expiration); results may resume it sooner.
  if ((call.state === 'pending' || call.state === 'suspended') && call.dueAt !== undefined)
    info.nextAttemptAt = iso(call.dueAt)
  if (call.expiresAt !== undefined) info.expiresAt = iso(call.expiresAt)
  if (call.fairnessKey !== undefined) info.fairnessKey = call.fairnessKey
  if (call.idempotencyKey !== undefined) info.idempotencyKey = call.idempotencyKey
  if (call.parentDispatchId !== undefined) info.parentDispatchId = call.parentDispatchId
  if (call.rootDispatchId !== undefined) info.rootDispatchId = call.rootDispatchId
  if (call.poll !== undefined || call.resultsWaiting > 0) info.resultsWaiting = call.resultsWaiting
  if (call.restarts > 0) info.restarts = call.restarts
  if (call.input !== undefined) info.input = call.input
  if (call.output !== undefined) info.output = call.output
  if (call.error !== undefined) info.error = call.error
  return info
}
