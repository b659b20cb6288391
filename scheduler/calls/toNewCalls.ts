import {
  type Checked,
  checkProtoDuration,
  checkTimestamp,
  type DispatchCall,
  DispatchRequest,
  type DspCode,
} from 'dispatch-functions/protocol'
import { Compile } from 'typebox/compile'
import { MAX_QUEUE_KEY_BYTES, queueKeyBytes } from '../store/storableValues.js'
import type { NewCall } from '../store/store.js'
import { ConnectRefusal } from './connectError.js'
import { newDispatchId } from './dispatchId.js'
import { MAX_JSON_DEPTH, nestedDeeperThan } from './jsonDepth.js'
import { type CallPolicies, policyFor } from './retryPolicy.js'
import { withDebounce } from './withDebounce.js'

const checkDispatchRequest = Compile(DispatchRequest)

/** The fields of a call kept as text by the stores. */
const KEPT_TEXT = ['endpoint', 'version', 'idempotencyKey', 'fairnessKey'] as const

// Batches name the same few endpoints over and over: each is parsed once (a cache, not a registry).
const parsedEndpoints = new Map<string, URL>()
const MAX_PARSED_ENDPOINTS = 1000

/** Stable codes of the refusals of values that pass the schema but not the scheduler's limits. */
export const REFUSAL_CODES = {
  /** A Duration or Timestamp out of the accepted range. */
  timeRange: 'DSP3010',
  /** A NUL character in text the stores keep. */
  nul: 'DSP3011',
  /** Endpoint, function and fairness key too long together to index. */
  queueKey: 'DSP3012',
  /** A correlation id that is not an exact uint64. */
  correlationId: 'DSP3013',
} as const satisfies Record<string, DspCode>

function refuse(index: number | undefined, message: string, code?: DspCode): never {
  const text = index === undefined ? message : `call ${index}: ${message}`
  throw new ConnectRefusal('invalid_argument', code === undefined ? text : `${code}: ${text}`)
}

/**
 * Validates a DispatchRequest and turns its calls into rows to store. Any bad call refuses the
 * whole batch (400 naming the call by index), before anything is stored.
 */
export function toNewCalls(body: unknown, options: CallPolicies, now: number): NewCall[] {
  if (!checkDispatchRequest.Check(body)) {
    const first = checkDispatchRequest.Errors(body)[0]
    const path = first?.instancePath ?? ''
    const m = /^\/calls\/(\d+)(.*)$/.exec(path)
    const what = `${m ? m[2] || '/' : path || '/'} ${first?.message ?? 'is invalid'}`
    refuse(m ? Number(m[1]) : undefined, m ? what : `the request is not a DispatchRequest: ${what}`)
  }
  return (body as DispatchRequest).calls.map((call, index) =>
    withDebounce(toNewCall(call, index, options, now), call, index, options, now),
  )
}

/**
 * One call of a Dispatch batch, checked and turned into a row; throws a ConnectRefusal naming the call by
 * `index`. The calls of a Poll and a tail call are checked with it too (scheduler/delivery/).
 */
export function toNewCall(call: DispatchCall, index: number | undefined, options: CallPolicies, now: number): NewCall {
  if (call.endpoint === undefined) refuse(index, 'endpoint is required (the URL where the scheduler runs the function)')
  // Text the stores keep as is: PostgreSQL cannot hold a NUL character, so neither store is given one.
  for (const field of KEPT_TEXT) {
    if (call[field]?.includes('\u0000'))
      refuse(index, `${field} must not contain a NUL character (\\u0000)`, REFUSAL_CODES.nul)
  }
  let url = parsedEndpoints.get(call.endpoint)
  if (url === undefined) {
    try {
      url = new URL(call.endpoint)
    } catch {
      refuse(index, `endpoint ${JSON.stringify(call.endpoint)} is not a URL`)
    }
    if (parsedEndpoints.size >= MAX_PARSED_ENDPOINTS) parsedEndpoints.clear()
    parsedEndpoints.set(call.endpoint, url)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse(index, 'endpoint must be an http(s) URL')
  const allowed = options.allowEndpoints
  if (allowed !== undefined && !allowed.allows(url)) {
    throw new ConnectRefusal('permission_denied', `call ${index}: ${allowed.refusalOf(url)}`)
  }
  // Deeper input overflowed JSON.stringify in the store: a 500 for the whole commit group.
  if (nestedDeeperThan(call.input, MAX_JSON_DEPTH))
    refuse(index, `input is nested deeper than ${MAX_JSON_DEPTH} levels`)
  const queueBytes = queueKeyBytes(call.endpoint, call.function, call.fairnessKey)
  if (queueBytes > MAX_QUEUE_KEY_BYTES) {
    refuse(
      index,
      `endpoint, function and fairnessKey are ${queueBytes} bytes together in UTF-8, over the limit of ${MAX_QUEUE_KEY_BYTES}: use a shorter URL or key`,
      REFUSAL_CODES.queueKey,
    )
  }
  const correlationId = call.correlationId === undefined ? undefined : checkCorrelationId(call.correlationId, index)
  const delayMs = call.delay === undefined ? 0 : inRange('delay', checkProtoDuration(call.delay, 0), index)
  let dueAt = now + delayMs
  if (call.notBefore !== undefined) dueAt = Math.max(dueAt, inRange('notBefore', checkTimestamp(call.notBefore), index))
  // Priority (docs/flow-control.md): the call's own, else the scheduler's config for the function, else
  // the function's declaration. A call due at dispatch gets it as a head start: it is claimed as if it
  // had been due `priority` steps earlier, so it overtakes a younger backlog but not calls that have
  // waited longer than its head start — nothing starves. A delayed call is never run early.
  const priority = call.priority ?? options.functions[call.function]?.priority ?? call.flow?.priority ?? 0
  if (priority > 0 && dueAt === now) dueAt = now - priority * options.priorityStepMs
  // Per-key concurrency: the limit of the scheduler's config wins over the declared one; a config
  // limit on a function that declares none caps all its calls together (the key '').
  const declared = call.flow?.concurrency
  const limit = options.functions[call.function]?.concurrency ?? declared?.limit
  if (call.flow?.concurrency?.key?.includes('\u0000'))
    refuse(index, 'flow.concurrency.key must not contain a NUL character (\\u0000)', REFUSAL_CODES.nul)
  const concurrency = limit === undefined ? undefined : { key: declared?.key ?? '', limit }
  // Rate limit: likewise, the config's (limit and period) wins over the declared one.
  const declaredRate = call.flow?.rateLimit
  if (declaredRate?.key?.includes('\u0000'))
    refuse(index, 'flow.rateLimit.key must not contain a NUL character (\\u0000)', REFUSAL_CODES.nul)
  const rate = options.functions[call.function]?.rateLimit ?? declaredRate
  const rateLimit =
    rate === undefined ? undefined : { key: declaredRate?.key ?? '', limit: rate.limit, periodMs: rate.periodMs }
  const expirationMs =
    call.expiration === undefined ? undefined : inRange('expiration', checkProtoDuration(call.expiration, 1), index)
  const row: { -readonly [K in keyof NewCall]: NewCall[K] } = {
    dispatchId: newDispatchId(now),
    function: call.function,
    endpoint: call.endpoint,
    input: call.input,
    version: call.version,
    correlationId,
    createdAt: now,
    dueAt,
    expiresAt: expirationMs === undefined ? undefined : now + expirationMs,
    expirationMs,
    maxAttempts: call.maxAttempts ?? policyFor(options, call.function).maxAttempts,
    fairnessKey: call.fairnessKey,
    idempotencyKey: call.idempotencyKey,
    parentDispatchId: undefined,
    rootDispatchId: undefined,
    traceparent: call.traceparent,
  }
  if (priority !== 0) row.priority = priority
  if (concurrency !== undefined) row.concurrency = concurrency
  if (rateLimit !== undefined) row.rateLimit = rateLimit
  return row
}

/** The milliseconds of a range-checked Duration or Timestamp, or a refusal naming the field. */
function inRange(field: string, checked: Checked, index: number | undefined): number {
  if (checked.problem !== undefined) refuse(index, `${field} ${checked.problem}`, REFUSAL_CODES.timeRange)
  return checked.ms
}

const MAX_UINT64 = 18_446_744_073_709_551_615n

/**
 * A correlation id as the decimal string a uint64 is in proto3 JSON: a number must be a safe integer
 * (a larger one has already lost digits), a string at most 2^64 - 1.
 */
function checkCorrelationId(value: string | number, index: number | undefined): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      refuse(
        index,
        `correlationId ${value} is not exact as a number: send it as a decimal string`,
        REFUSAL_CODES.correlationId,
      )
    return String(value)
  }
  if (BigInt(value) > MAX_UINT64)
    refuse(index, `correlationId ${value} is out of range: allowed 0 to ${MAX_UINT64}`, REFUSAL_CODES.correlationId)
  return value
}
