import {
  checkProtoDuration,
  type DispatchCall,
  type ErrorMessage,
  isRetried,
  MAX_POLL_CALLS,
  type Poll,
  RunResponse,
  type Status,
  toTimestamp,
} from 'dispatch-functions/protocol'
import { Compile } from 'typebox/compile'
import { ConnectRefusal } from '../calls/connectError.js'
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../calls/jsonDepth.js'
import { type CallPolicies, DEFAULT_CALL_POLICIES, type ResolvedRetryPolicy } from '../calls/retryPolicy.js'
import { toNewCall } from '../calls/toNewCalls.js'
import type { Completion, CoroutineState, StoredCall } from '../store/store.js'
import { backoffDelay } from './backoff.js'
import type { PostOutcome } from './endpointClient.js'
import { OK_WITHOUT_OUTPUT } from './okWithoutOutput.js'
import { toChildCalls } from './toChildCalls.js'

const checkRunResponse = Compile(RunResponse)

export interface DecideContext {
  readonly owner: string
  readonly now: number
  readonly policy: ResolvedRetryPolicy
  readonly random?: () => number
  /** The scheduler's options, for the retry policies of a Poll's children (default: the defaults). */
  readonly options?: CallPolicies
}

/** The largest coroutine state stored (the journal a Poll carries), in bytes of its JSON. */
export const MAX_COROUTINE_STATE_BYTES = 16 * 1024 * 1024

function schedulerOptions(context: DecideContext): CallPolicies {
  return context.options ?? DEFAULT_CALL_POLICIES
}

/**
 * Turns what one attempt gave into the change to record: success, a terminal failure, a retry
 * (retried statuses, with backoff, while attempts and the expiration allow), or a tail call that
 * replaces the call. The one place that decides a call's fate after an attempt (docs/protocol.md §9.3, §10).
 */
export function decideCompletion(call: StoredCall, outcome: PostOutcome, context: DecideContext): Completion {
  const completion = decide(call, outcome, context)
  // A coroutine that ends no longer needs the children still running: the store cancels them.
  const exits = completion.kind === 'succeeded' || completion.kind === 'failed' || completion.kind === 'tailCall'
  return exits && call.poll !== undefined ? { ...completion, coroutine: true } : completion
}

function decide(call: StoredCall, outcome: PostOutcome, context: DecideContext): Completion {
  if (outcome.kind === 'failure') return failedAttempt(call, outcome.status, outcome.error, context)
  if (outcome.decoded === undefined && outcome.body === OK_WITHOUT_OUTPUT) {
    return {
      dispatchId: call.dispatchId,
      attempt: call.attempts,
      owner: context.owner,
      now: context.now,
      kind: 'succeeded',
      status: 'STATUS_OK',
      output: undefined,
      error: undefined,
    }
  }
  let answer: unknown = outcome.decoded
  if (answer === undefined) {
    try {
      answer = JSON.parse(outcome.body)
    } catch {
      return invalid(call, context, 'the endpoint answered a body that is not JSON')
    }
  }
  // A deeper answer overflowed the store's JSON.stringify, so its outcome was never recorded and the call was redelivered forever.
  if (nestedDeeperThan(answer))
    return invalid(call, context, `the endpoint answered JSON nested deeper than ${MAX_JSON_DEPTH} levels`)
  // A Poll's calls are checked one by one, like a Dispatch batch: a bad one is answered with
  // `pollResult.error` on the next turn, not counted as a bad answer of the whole run.
  const pollCalls = takePollCalls(answer)
  if (!checkRunResponse.Check(answer)) {
    const first = checkRunResponse.Errors(answer)[0]
    const where = first === undefined ? '' : `: ${first.instancePath || '/'} ${first.message}`
    return invalid(call, context, `the endpoint answered something that is not a RunResponse${where}`)
  }
  const response = answer as RunResponse
  const base = { dispatchId: call.dispatchId, attempt: call.attempts, owner: context.owner, now: context.now }
  if (response.poll !== undefined) return suspended(call, response.status, response.poll, pollCalls, context)
  const tail = response.exit?.tailCall
  if (tail !== undefined) {
    const endpoint = tail.endpoint ?? call.endpoint
    if (!/^https?:\/\//.test(endpoint))
      return invalid(call, context, `the tail call's endpoint ${endpoint.slice(0, 200)} is not http(s)`)
    const refusal = context.options?.allowEndpoints?.refusal(endpoint)
    if (refusal !== undefined) {
      const error = { type: 'EndpointNotAllowed', message: `the tail call was refused: ${refusal}` }
      return failedAttempt(call, 'STATUS_PERMISSION_DENIED', error, context)
    }
    // Checked as a Dispatch would be (expiration in range, no NUL, a queue the stores can index).
    const asDispatched: DispatchCall = { function: tail.function, endpoint }
    if (tail.expiration !== undefined) asDispatched.expiration = tail.expiration
    if (tail.version !== undefined) asDispatched.version = tail.version
    if (call.fairnessKey !== undefined) asDispatched.fairnessKey = call.fairnessKey
    let expirationMs: number | undefined
    try {
      expirationMs = toNewCall(asDispatched, undefined, schedulerOptions(context), context.now).expirationMs
    } catch (error) {
      if (error instanceof ConnectRefusal) return invalid(call, context, `the tail call is refused: ${error.message}`)
      throw error
    }
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
  if (response.status === 'STATUS_INCOMPATIBLE_STATE') {
    // A resumed turn whose code no longer replays its journal starts again from its input;
    // the restart counts as an attempt, so code that always diverges ends failed. A first run
    // cannot be helped by starting again: it fails.
    if (call.poll !== undefined && call.attempts < call.maxAttempts) {
      return { ...base, kind: 'restart', status: response.status, error }
    }
    const why = call.poll === undefined ? 'answered to a first run' : `after ${call.attempts} attempts`
    return { ...base, kind: 'failed', status: response.status, output: undefined, error: withNote(error, why) }
  }
  return failedAttempt(call, response.status, error, context)
}

const withNote = (error: ErrorMessage, note: string): ErrorMessage => ({
  ...error,
  message: `${error.message} (not restarted: ${note})`,
})

/** Removes `poll.calls` from a parsed answer (to be checked apart) and returns it. */
function takePollCalls(answer: unknown): unknown {
  const poll = (answer as { poll?: unknown } | null)?.poll
  if (poll === null || typeof poll !== 'object' || !('calls' in poll)) return undefined
  const { calls, ...rest } = poll as { calls: unknown }
  ;(answer as { poll: unknown }).poll = rest
  return calls
}

const clamp = (n: number, low: number, high: number) => Math.min(high, Math.max(low, n))

/**
 * A Poll suspends the call: its state is kept verbatim, the results it was given are consumed,
 * its calls become children (or, when they cannot be dispatched, the next turn gets `pollResult.error`).
 */
function suspended(call: StoredCall, status: Status, poll: Poll, calls: unknown, context: DecideContext): Completion {
  const state: { -readonly [K in keyof CoroutineState]: CoroutineState[K] } = {}
  let size = 0
  if (poll.coroutineState !== undefined) {
    state.coroutineState = poll.coroutineState
    size = poll.coroutineState.length
  } else if (poll.typedCoroutineState !== undefined) {
    state.typedCoroutineState = poll.typedCoroutineState
    size = JSON.stringify(poll.typedCoroutineState).length
  }
  if (size > MAX_COROUTINE_STATE_BYTES) {
    return invalid(
      call,
      context,
      `the Poll's coroutine state is ${size} bytes, over the limit of ${MAX_COROUTINE_STATE_BYTES} (16 MiB): keep less in the journal or split the work into more calls`,
    )
  }
  const maxResults = clamp(poll.maxResults ?? 1000, 1, MAX_POLL_CALLS)
  const minResults = clamp(poll.minResults ?? 1, 1, maxResults)
  let waitMs: number | undefined
  if (poll.maxWait !== undefined) {
    const checked = checkProtoDuration(poll.maxWait, 0)
    if (checked.problem !== undefined) return invalid(call, context, `the Poll's maxWait ${checked.problem}`)
    waitMs = checked.ms
  }
  const children = toChildCalls(call, calls, schedulerOptions(context), context.now)
  return {
    dispatchId: call.dispatchId,
    attempt: call.attempts,
    owner: context.owner,
    now: context.now,
    kind: 'poll',
    status,
    poll: {
      state,
      minResults,
      maxResults,
      deadline: waitMs === undefined ? undefined : context.now + waitMs,
      error: children.kind === 'refused' ? children.error : undefined,
    },
    children: children.kind === 'children' ? children.children : [],
    consumed: call.results.map((r) => r.seq),
  }
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
        `the call expired at ${toTimestamp(call.expiresAt ?? context.now)} before it succeeded` +
        (call.error === undefined ? '' : `; the last attempt failed with ${call.error.type}: ${call.error.message}`),
    },
  }
}
