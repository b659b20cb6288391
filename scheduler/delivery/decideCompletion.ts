import { Compile } from 'typebox/compile'
import { fromProtoDuration } from '../../runtime/client/duration.js'
import type { ErrorMessage } from '../../schemas/error.js'
import { RunResponse } from '../../schemas/run.js'
import { isRetried, type Status } from '../../schemas/status.js'
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../jsonDepth.js'
import type { ResolvedRetryPolicy } from '../schedulerOptions.js'
import type { Completion, StoredCall } from '../store/store.js'
import { backoffDelay } from './backoff.js'
import type { PostOutcome } from './endpointClient.js'

const checkRunResponse = Compile(RunResponse)

export interface DecideContext {
  readonly owner: string
  readonly now: number
  readonly policy: ResolvedRetryPolicy
  readonly random?: () => number
}

/**
 * Turns what one attempt gave into the change to record: success, a terminal failure, a retry
 * (retried statuses, with backoff, while attempts and the expiration allow), or a tail call that
 * replaces the call. The one place that decides a call's fate after an attempt.
 */
export function decideCompletion(call: StoredCall, outcome: PostOutcome, context: DecideContext): Completion {
  if (outcome.kind === 'failure') return failedAttempt(call, outcome.status, outcome.error, context)
  let answer: unknown
  try {
    answer = JSON.parse(outcome.body)
  } catch {
    return invalid(call, context, 'the endpoint answered a body that is not JSON')
  }
  // Fault-suite finding (issue 8): a deeper answer overflowed the store's JSON.stringify, so its outcome was never recorded and the call was redelivered forever.
  if (nestedDeeperThan(answer))
    return invalid(call, context, `the endpoint answered JSON nested deeper than ${MAX_JSON_DEPTH} levels`)
  if (!checkRunResponse.Check(answer)) {
    const first = checkRunResponse.Errors(answer)[0]
    const where = first === undefined ? '' : `: ${first.instancePath || '/'} ${first.message}`
    return invalid(call, context, `the endpoint answered something that is not a RunResponse${where}`)
  }
  const response = answer as RunResponse
  const base = { dispatchId: call.dispatchId, attempt: call.attempts, owner: context.owner, now: context.now }
  if (response.poll !== undefined) {
    return {
      ...base,
      kind: 'failed',
      status: 'STATUS_PERMANENT_ERROR',
      output: undefined,
      error: {
        type: 'CoroutinesNotSupported',
        message: 'the endpoint answered Poll (a durable coroutine), which this scheduler does not run yet',
      },
    }
  }
  const tail = response.exit?.tailCall
  if (tail !== undefined) {
    const endpoint = tail.endpoint ?? call.endpoint
    if (!/^https?:\/\//.test(endpoint))
      return invalid(call, context, `the tail call's endpoint ${endpoint} is not http(s)`)
    const expirationMs = tail.expiration === undefined ? undefined : fromProtoDuration(tail.expiration)
    return {
      ...base,
      kind: 'tailCall',
      status: response.status,
      function: tail.function,
      endpoint,
      input: tail.input,
      version: tail.version,
      expiresAt: expirationMs === undefined ? undefined : context.now + expirationMs,
      expirationMs,
    }
  }
  const result = response.exit?.result
  if (response.status === 'STATUS_OK') {
    return { ...base, kind: 'succeeded', status: 'STATUS_OK', output: result?.output, error: undefined }
  }
  const error = result?.error ?? { type: response.status, message: `the function answered ${response.status}` }
  return failedAttempt(call, response.status, error, context)
}

function invalid(call: StoredCall, context: DecideContext, message: string): Completion {
  return failedAttempt(call, 'STATUS_INVALID_RESPONSE', { type: 'InvalidResponse', message }, context)
}

/** A failed attempt: retried after a backoff when its status is retried and the budget allows. */
export function failedAttempt(
  call: StoredCall,
  status: Status,
  error: ErrorMessage,
  context: DecideContext,
): Completion {
  const base = { dispatchId: call.dispatchId, attempt: call.attempts, owner: context.owner, now: context.now, status }
  if (isRetried(status) && call.attempts < call.maxAttempts) {
    const dueAt = context.now + backoffDelay(context.policy, call.attempts, context.random)
    if (call.expiresAt === undefined || dueAt < call.expiresAt) return { ...base, kind: 'retry', dueAt, error }
    return {
      ...base,
      kind: 'failed',
      output: undefined,
      error: { ...error, message: `${error.message} (not retried: the call expires before the next attempt)` },
    }
  }
  return { ...base, kind: 'failed', output: undefined, error }
}

/** A call whose expiration passed before an attempt could start. */
export function expired(call: StoredCall, context: DecideContext): Completion {
  return {
    dispatchId: call.dispatchId,
    attempt: call.attempts,
    owner: context.owner,
    now: context.now,
    kind: 'failed',
    status: call.status ?? 'STATUS_TIMEOUT',
    output: undefined,
    error: {
      type: 'Expired',
      message:
        `the call expired at ${new Date(call.expiresAt ?? context.now).toISOString()} before it succeeded` +
        (call.error === undefined ? '' : `; the last attempt failed with ${call.error.type}: ${call.error.message}`),
    },
  }
}
