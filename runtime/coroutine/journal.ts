import { dspError } from '../../schemas/errors/dspError.js'
import { base64OfText, bytesOfBase64, utf8Length, utf8Text } from '../portable/base64.js'
import type { OpRecord, ReceivedSignal } from './journalOps.js'

export type { CallOutcome, OpRecord } from './journalOps.js'

/**
 * The coroutine state that travels in Poll / PollResult (`coroutineState`, base64 of this JSON;
 * the format is docs/protocol.md §13). It is all an endpoint needs to resume a function by
 * replaying it: the arguments, every durable operation in the order the function started them,
 * their results, and the batches in which those results were handed to the function. The scheduler
 * never looks inside. The keys are part of the format, so they never change: states written by
 * earlier versions stay readable. The operations and their one-letter keys are in journalOps.ts.
 */
export interface Journal {
  /** Format version of this structure. */
  readonly v: 1
  /** The function the journal belongs to. */
  readonly fn: string
  /** A hash of the function's source: a resumed turn with other code is INCOMPATIBLE_STATE. */
  readonly ver: string
  /** The positional arguments of the first run (a PollResult does not carry the input again). */
  readonly args: unknown[]
  /** Durable operations by position (the correlation id of a call is its position). */
  readonly ops: OpRecord[]
  /** Positions resolved together, in the order they were handed to the function. */
  readonly batches: number[][]
  /** Positions of calls sent in the last Poll, for a PollResult that reports they could not start. */
  sent: number[]
  /** Signals received before the function waited for them, oldest first (absent when none). */
  sig?: ReceivedSignal[]
}

/** The largest journal kept, in bytes of JSON: PollResults must stay well inside the 16 MB request limit. */
export const MAX_JOURNAL_BYTES = 8 * 1024 * 1024

/** The journal as the Poll's `coroutineState` (base64). Throws DSP2231 when it grew past the limit. */
export function encodeJournal(journal: Journal, limit = MAX_JOURNAL_BYTES): string {
  const json = JSON.stringify(journal)
  const bytes = utf8Length(json)
  if (bytes > limit) {
    throw dspError(
      'DSP2231',
      `the journal of coroutine ${journal.fn} grew to ${bytes} bytes, over the limit of ${limit} bytes`,
      {
        hint: 'durable results and arguments are kept in the journal: pass large data by reference (store it, pass a key), or split the work into child functions that return less',
      },
    )
  }
  return base64OfText(json)
}

/** The journal of a PollResult's state, or a message saying why it is not one of ours. */
export function decodeJournal(state: string | undefined): Journal | string {
  if (state === undefined || state === '') return 'the PollResult carries no coroutine state'
  let value: unknown
  try {
    value = JSON.parse(utf8Text(bytesOfBase64(state)))
  } catch {
    return 'the coroutine state is not a journal of this library (not base64 JSON)'
  }
  return isJournal(value) ? value : 'the coroutine state is not a journal of this library (unknown shape)'
}

// The state comes back from the scheduler; a signed request vouches for it, but an endpoint without
// a key accepts anyone's, so every field the replay reads is checked before use. This is the parser of
// the format: it reads the keys of journalOps.ts by name, on values not yet known to be journals.
function isJournal(value: unknown): value is Journal {
  if (typeof value !== 'object' || value === null) return false
  const j = value as Record<string, unknown>
  if (j['v'] !== 1 || typeof j['fn'] !== 'string' || typeof j['ver'] !== 'string') return false
  if (!Array.isArray(j['args']) || !Array.isArray(j['ops']) || !Array.isArray(j['batches'])) return false
  if (!Array.isArray(j['sent']) || !j['sent'].every((p) => isPosition(p, j['ops'] as unknown[]))) return false
  if (j['sig'] !== undefined && !(Array.isArray(j['sig']) && j['sig'].every(isReceivedSignal))) return false
  const ops = j['ops'] as unknown[]
  if (!ops.every(isOpRecord)) return false
  return (j['batches'] as unknown[]).every((b) => Array.isArray(b) && b.every((p) => isPosition(p, ops)))
}

function isReceivedSignal(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)['n'] === 'string'
}

function isPosition(p: unknown, ops: unknown[]): boolean {
  return Number.isInteger(p) && (p as number) >= 0 && (p as number) < ops.length
}

function isOpRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const op = value as Record<string, unknown>
  switch (op['k']) {
    case 'call':
      return typeof op['f'] === 'string' && typeof op['h'] === 'string' && isOutcome(op['r'])
    case 'sleep':
      return typeof op['u'] === 'number'
    case 'value':
      // Each kind with its own type: the value is handed to the function as now()/random()/uuid()
      // returned it, so a crafted state must not give it a string for a number or the reverse.
      if (op['t'] === 'uuid') return typeof op['x'] === 'string'
      return (op['t'] === 'now' || op['t'] === 'random') && typeof op['x'] === 'number'
    case 'step':
      // A saved journal holds only finished steps (a turn never suspends while one runs): a step
      // without its outcome could never resolve, and the coroutine would wait for nothing.
      return (
        typeof op['n'] === 'string' &&
        op['r'] !== undefined &&
        isOutcome(op['r']) &&
        (op['a'] === undefined || (Number.isInteger(op['a']) && (op['a'] as number) >= 1))
      )
    case 'patch':
      return typeof op['i'] === 'string'
    case 'signal':
      return typeof op['n'] === 'string' && (op['u'] === undefined || typeof op['u'] === 'number') && isOutcome(op['r'])
    default:
      return false
  }
}

function isOutcome(r: unknown): boolean {
  if (r === undefined) return true
  if (typeof r !== 'object' || r === null) return false
  const e = (r as Record<string, unknown>)['e']
  if (e === undefined) return true
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as Record<string, unknown>)['type'] === 'string' &&
    typeof (e as Record<string, unknown>)['message'] === 'string' &&
    // Becomes CallFailedError.dispatchId (and part of its message): a string or nothing.
    ((e as Record<string, unknown>)['id'] === undefined || typeof (e as Record<string, unknown>)['id'] === 'string')
  )
}
