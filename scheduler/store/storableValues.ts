import { type DispatchError, dspError } from 'dispatch-functions/protocol'
import type { Completion, NewCall } from './store.js'

/**
 * The values both stores hold alike. PostgreSQL cannot keep a NUL character in text, a fraction in a
 * BIGINT, or an index entry over about 2.7 kB, where SQLite keeps all three: each store checks (and
 * rounds) with these rules first, so a call is stored by both or refused by both.
 */

/**
 * The most bytes (UTF-8) of endpoint, function and fairness key together: the stores index the three
 * as a call's queue, and PostgreSQL refuses an index entry over about 2.7 kB.
 */
export const MAX_QUEUE_KEY_BYTES = 2400

/** The earliest and latest instants (and longest durations) a store keeps: what a `Date` can hold. */
const MAX_TIME_MS = 8_640_000_000_000_000

/** The UTF-8 bytes of a call's queue (endpoint, function, fairness key). */
export function queueKeyBytes(endpoint: string, fn: string, fairnessKey: string | undefined): number {
  return (
    Buffer.byteLength(endpoint) +
    Buffer.byteLength(fn) +
    (fairnessKey === undefined ? 0 : Buffer.byteLength(fairnessKey))
  )
}

/** A store's refusal of a value it cannot hold (DSP3520), naming the call and the field. */
export function unstorable(dispatchId: string, problem: string): DispatchError {
  return dspError('DSP3520', `call ${dispatchId} cannot be stored: ${problem}`, {
    hint: 'the scheduler checks these values where they enter; report this as a bug with the value that reached the store',
  })
}

const round = <T extends number | undefined>(ms: T): T => (ms === undefined ? ms : (Math.round(ms) as T))

function textProblem(fields: Record<string, string | undefined>): string | undefined {
  for (const [name, text] of Object.entries(fields)) {
    const problem = nulProblem(name, text)
    if (problem !== undefined) return problem
  }
  return undefined
}

function timeProblem(fields: Record<string, number | undefined>): string | undefined {
  for (const [name, ms] of Object.entries(fields)) {
    const problem = oneTimeProblem(name, ms)
    if (problem !== undefined) return problem
  }
  return undefined
}

function nulProblem(name: string, text: string | undefined): string | undefined {
  return text?.includes('\u0000') ? `${name} contains a NUL character (\\u0000)` : undefined
}

function oneTimeProblem(name: string, ms: number | undefined): string | undefined {
  return ms !== undefined && !(Math.abs(ms) <= MAX_TIME_MS)
    ? `${name} ${ms} is not a time in milliseconds a Date can hold`
    : undefined
}

/** A time a store keeps as it is: absent or a whole number of milliseconds. */
const whole = (ms: number | undefined): boolean => ms === undefined || Number.isInteger(ms)

// Every dispatched call and every outcome passes here: the common checks name their fields one by
// one rather than through an object of fields built for each call.
const NEW_CALL_TEXTS = ['function', 'endpoint', 'version', 'correlationId', 'fairnessKey', 'idempotencyKey'] as const
const NEW_CALL_TIMES = ['createdAt', 'dueAt', 'expiresAt', 'expirationMs'] as const

function queueProblem(endpoint: string, fn: string, fairnessKey: string | undefined): string | undefined {
  const bytes = queueKeyBytes(endpoint, fn, fairnessKey)
  return bytes > MAX_QUEUE_KEY_BYTES
    ? `endpoint, function and fairness key are ${bytes} bytes together, over ${MAX_QUEUE_KEY_BYTES}`
    : undefined
}

/** Why a new call cannot be stored, or undefined. */
export function newCallProblem(call: NewCall): string | undefined {
  for (const name of NEW_CALL_TEXTS) {
    const problem = nulProblem(name, call[name])
    if (problem !== undefined) return problem
  }
  for (const name of NEW_CALL_TIMES) {
    const problem = oneTimeProblem(name, call[name])
    if (problem !== undefined) return problem
  }
  return queueProblem(call.endpoint, call.function, call.fairnessKey)
}

/** The call with its times in whole milliseconds (a Duration may carry nanoseconds). */
export function storableCall(call: NewCall): NewCall {
  const problem = newCallProblem(call)
  if (problem !== undefined) throw unstorable(call.dispatchId, problem)
  if (whole(call.createdAt) && whole(call.dueAt) && whole(call.expiresAt) && whole(call.expirationMs)) return call
  return {
    ...call,
    createdAt: round(call.createdAt),
    dueAt: round(call.dueAt),
    expiresAt: round(call.expiresAt),
    expirationMs: round(call.expirationMs),
  }
}

/** Why an outcome cannot be stored as it is (its own values, or one of a Poll's children), or undefined. */
function completionProblem(c: Completion): string | undefined {
  const times = oneTimeProblem('now', c.now)
  if (times !== undefined) return times
  switch (c.kind) {
    case 'retry':
      return timeProblem({ dueAt: c.dueAt })
    case 'tailCall':
      return (
        textProblem({
          'tail call function': c.function,
          'tail call endpoint': c.endpoint,
          'tail call version': c.version,
        }) ??
        timeProblem({ 'tail call expiresAt': c.expiresAt, 'tail call expirationMs': c.expirationMs }) ??
        queueProblem(c.endpoint, c.function, undefined)
      )
    case 'poll': {
      const deadline = timeProblem({ 'Poll deadline': c.poll.deadline })
      if (deadline !== undefined) return deadline
      for (const [i, child] of c.children.entries()) {
        const problem = newCallProblem(child)
        if (problem !== undefined) return `the Poll's call ${i}: ${problem}`
      }
      return undefined
    }
    default:
      return undefined
  }
}

/**
 * An outcome as a store applies it: times in whole milliseconds; one it cannot hold becomes a
 * terminal failure of that call alone, with the reason recorded (`StoreRefused`).
 */
export function storableCompletion(c: Completion): Completion {
  const problem = completionProblem(c)
  if (problem !== undefined) return refusedOutcome(c, unstorable(c.dispatchId, problem).message)
  const now = round(c.now)
  switch (c.kind) {
    case 'retry':
      return { ...c, now, dueAt: round(c.dueAt) }
    case 'tailCall':
      return { ...c, now, expiresAt: round(c.expiresAt), expirationMs: round(c.expirationMs) }
    case 'poll':
      return {
        ...c,
        now,
        poll: { ...c.poll, deadline: round(c.poll.deadline) },
        children: c.children.map((child) => storableCall(child)),
      }
    default:
      return now === c.now ? c : { ...c, now }
  }
}

/** The outcome a store records instead of one it could not write: the call fails, with why. */
export function refusedOutcome(c: Completion, message: string): Completion {
  return {
    dispatchId: c.dispatchId,
    attempt: c.attempt,
    owner: c.owner,
    now: Number.isFinite(c.now) ? Math.round(c.now) : Date.now(),
    kind: 'failed',
    status: 'STATUS_INVALID_RESPONSE',
    output: undefined,
    error: { type: 'StoreRefused', message: message.slice(0, 2000) },
    // Kept so the attempt history still shows how long the refused attempt ran.
    ...(c.startedAt !== undefined && Number.isFinite(c.startedAt) ? { startedAt: Math.round(c.startedAt) } : {}),
  }
}
