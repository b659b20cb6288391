import { fromProtoDuration } from 'dispatch-functions/internal'
import { type DispatchCall, DispatchRequest } from 'dispatch-functions/protocol'
import { Compile } from 'typebox/compile'
import { newDispatchId } from '../dispatchId.js'
import { policyFor, type ResolvedSchedulerOptions } from '../schedulerOptions.js'
import type { NewCall } from '../store/store.js'
import { ConnectRefusal } from './connectError.js'

const checkDispatchRequest = Compile(DispatchRequest)

function refuse(index: number | undefined, message: string): never {
  throw new ConnectRefusal('invalid_argument', index === undefined ? message : `call ${index}: ${message}`)
}

/**
 * Validates a DispatchRequest and turns its calls into rows to store. Any bad call refuses the
 * whole batch (400 naming the call by index), before anything is stored.
 */
export function toNewCalls(body: unknown, options: ResolvedSchedulerOptions, now: number): NewCall[] {
  if (!checkDispatchRequest.Check(body)) {
    const first = checkDispatchRequest.Errors(body)[0]
    const path = first?.instancePath ?? ''
    const m = /^\/calls\/(\d+)(.*)$/.exec(path)
    const what = `${m ? m[2] || '/' : path || '/'} ${first?.message ?? 'is invalid'}`
    refuse(m ? Number(m[1]) : undefined, m ? what : `the request is not a DispatchRequest: ${what}`)
  }
  return (body as DispatchRequest).calls.map((call, index) => toNewCall(call, index, options, now))
}

/**
 * One call of a Dispatch batch, checked and turned into a row; throws a ConnectRefusal naming the call by
 * `index`. Issue 6 reuses it for the calls of a Poll (scheduler/delivery/toChildCalls.ts).
 */
export function toNewCall(call: DispatchCall, index: number, options: ResolvedSchedulerOptions, now: number): NewCall {
  if (call.endpoint === undefined) refuse(index, 'endpoint is required (the URL where the scheduler runs the function)')
  let url: URL
  try {
    url = new URL(call.endpoint)
  } catch {
    refuse(index, `endpoint ${JSON.stringify(call.endpoint)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse(index, 'endpoint must be an http(s) URL')
  const allowed = options.allowEndpoints
  if (allowed !== undefined && !allowed.allows(url)) {
    throw new ConnectRefusal('permission_denied', `call ${index}: ${allowed.refusalOf(url)}`)
  }
  // Fuzz finding (issue 8): deeper input overflowed JSON.stringify in the store, a 500 for the whole commit group.
  if (nestedDeeperThan(call.input, MAX_INPUT_DEPTH))
    refuse(index, `input is nested deeper than ${MAX_INPUT_DEPTH} levels`)
  const delayMs = call.delay === undefined ? 0 : fromProtoDuration(call.delay)
  if (delayMs < 0) refuse(index, 'delay must not be negative')
  let dueAt = now + delayMs
  if (call.notBefore !== undefined) {
    const at = Date.parse(call.notBefore)
    if (Number.isNaN(at)) refuse(index, `notBefore ${JSON.stringify(call.notBefore)} is not a timestamp`)
    dueAt = Math.max(dueAt, at)
  }
  const expirationMs = call.expiration === undefined ? undefined : fromProtoDuration(call.expiration)
  if (expirationMs !== undefined && expirationMs <= 0) refuse(index, 'expiration must be positive')
  return {
    dispatchId: newDispatchId(now),
    function: call.function,
    endpoint: call.endpoint,
    input: call.input,
    version: call.version,
    correlationId: call.correlationId === undefined ? undefined : String(call.correlationId),
    createdAt: now,
    dueAt,
    expiresAt: expirationMs === undefined ? undefined : now + expirationMs,
    expirationMs,
    maxAttempts: call.maxAttempts ?? policyFor(options, call.function).maxAttempts,
    fairnessKey: call.fairnessKey,
    idempotencyKey: call.idempotencyKey,
    parentDispatchId: undefined,
    rootDispatchId: undefined,
  }
}

/** The deepest input nesting accepted (issue 8: deeper values overflowed JSON.stringify when stored). */
const MAX_INPUT_DEPTH = 1000

/** Whether arrays/objects in `value` nest deeper than `max`; iterative, so it cannot overflow itself. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth > max) return true
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}
