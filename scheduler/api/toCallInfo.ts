import type { AttemptInfo, CallInfo } from 'dispatch-functions/protocol'
import { toTimestamp } from 'dispatch-functions/protocol'
import type { ListedCall, StoredAttempt, StoredCall, StoredDebounce } from '../store/store.js'

// Never throws: a time stored by an older version beyond a Date's range reads as the latest timestamp.
const iso = toTimestamp

/**
 * The CallService view of a stored call (lease details stay internal); a listed call may have left
 * large messages out, and says so with their sizes.
 */
export function toCallInfo(call: StoredCall | ListedCall, now?: number): CallInfo {
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
  // A priority's head start puts `dueAt` before the call's creation: it was due from the start.
  if ((call.state === 'pending' || call.state === 'suspended') && call.dueAt !== undefined)
    info.nextAttemptAt = iso(Math.max(call.dueAt, call.createdAt))
  if (call.priority > 0) info.priority = call.priority
  if (call.concurrency !== undefined) info.concurrency = { key: call.concurrency.key, limit: call.concurrency.limit }
  if (call.rateLimit !== undefined) info.rateLimit = { ...call.rateLimit }
  if (now !== undefined && call.state === 'pending' && call.dueAt !== undefined) {
    const due =
      call.rateLimit !== undefined ? 'rate_limited' : call.concurrency !== undefined ? 'concurrency' : 'queued'
    info.waiting = call.dueAt > now ? (call.attempts > 0 ? 'backoff' : 'delayed') : due
    if (info.waiting === 'delayed' && call.debounce !== undefined && call.epoch === 0) info.waiting = 'debounced'
  }
  if (call.debounce !== undefined) info.debounce = debounceInfo(call.debounce)
  if (call.expiresAt !== undefined) info.expiresAt = iso(call.expiresAt)
  if (call.fairnessKey !== undefined) info.fairnessKey = call.fairnessKey
  if (call.idempotencyKey !== undefined) info.idempotencyKey = call.idempotencyKey
  if (call.parentDispatchId !== undefined) info.parentDispatchId = call.parentDispatchId
  if (call.rootDispatchId !== undefined) info.rootDispatchId = call.rootDispatchId
  const hasPoll = 'hasPoll' in call ? call.hasPoll : call.poll !== undefined
  if (hasPoll || call.resultsWaiting > 0) info.resultsWaiting = call.resultsWaiting
  if (call.restarts > 0) info.restarts = call.restarts
  if (call.input !== undefined) info.input = call.input
  if (call.output !== undefined) info.output = call.output
  if (call.error !== undefined) info.error = call.error
  // The trace id alone: the parent span id in the traceparent is the dispatcher's, of no use to a reader.
  const traceId = 'traceparent' in call ? call.traceparent?.split('-')[1] : undefined
  if (traceId !== undefined) info.traceId = traceId
  if ('hasPoll' in call) {
    if (call.inputBytes !== undefined) info.inputBytes = call.inputBytes
    if (call.outputBytes !== undefined) info.outputBytes = call.outputBytes
    if (call.errorBytes !== undefined) info.errorBytes = call.errorBytes
  }
  return info
}

/** The CallService view of a call's debounce. */
function debounceInfo(debounce: StoredDebounce): NonNullable<CallInfo['debounce']> {
  const { key, keep, windowMs, until, dispatches } = debounce
  return until === undefined
    ? { key, keep, windowMs, dispatches }
    : { key, keep, windowMs, until: iso(until), dispatches }
}

/** The CallService view of one entry of a call's attempt history. */
export function toAttemptInfo(attempt: StoredAttempt): AttemptInfo {
  const info: AttemptInfo = {
    attempt: attempt.attempt,
    startedAt: iso(attempt.startedAt),
    finishedAt: iso(attempt.finishedAt),
    status: attempt.status,
    outcome: attempt.outcome,
  }
  if (attempt.error !== undefined) info.error = attempt.error
  return info
}
