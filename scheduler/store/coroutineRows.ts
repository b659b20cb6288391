import type { CallResult, ErrorMessage } from 'dispatch-functions/protocol'
import type { CoroutineState, StoredPoll, StoredResult } from './store.js'

/**
 * The coroutine columns both stores keep on `calls` and in `call_results` (same names and
 * meaning in SQLite and PostgreSQL), and their conversion to the store's types.
 */
export interface PollColumns {
  poll_state: string | null
  min_results: number | null
  max_results: number | null
  poll_deadline: number | null
  poll_error: string | null
  results_waiting: number
  epoch: number
  restarts: number
}

export interface ResultRow {
  seq: number
  parent_id: string
  child_id: string
  correlation_id: string | null
  output: string | null
  error: string | null
}

/** The error a cancelled child reports to its parent. */
export const CANCELLED_ERROR: ErrorMessage = { type: 'Cancelled', message: 'the call was cancelled' }

/** The Poll a row waits with, or undefined when it is not a coroutine between turns. */
export function storedPoll(row: PollColumns): StoredPoll | undefined {
  if (row.poll_state === null) return undefined
  return {
    state: JSON.parse(row.poll_state) as CoroutineState,
    minResults: row.min_results ?? 1,
    maxResults: row.max_results ?? 1000,
    deadline: row.poll_deadline ?? undefined,
    error: row.poll_error === null ? undefined : (JSON.parse(row.poll_error) as ErrorMessage),
  }
}

/** A `call_results` row as the CallResult the parent is handed (output or error, never both). */
export function storedResult(row: ResultRow): StoredResult {
  // A signal (Store.signalCall) comes from no child.
  const result: CallResult = row.child_id === '' ? {} : { dispatchId: row.child_id }
  if (row.correlation_id !== null) result.correlationId = row.correlation_id
  if (row.error !== null) result.error = JSON.parse(row.error) as ErrorMessage
  else if (row.output !== null) result.output = JSON.parse(row.output)
  return { seq: row.seq, result }
}

/** The JSON of a Poll's state as stored: only the field that came. */
export function pollStateJson(state: CoroutineState): string {
  const kept: { coroutineState?: string; typedCoroutineState?: unknown } = {}
  if (state.coroutineState !== undefined) kept.coroutineState = state.coroutineState
  if (state.typedCoroutineState !== undefined) kept.typedCoroutineState = state.typedCoroutineState
  return JSON.stringify(kept)
}

/** When a suspended call is next due: now with enough results (or a Poll error), else deadline or expiration. */
export function suspendedDueAt(
  poll: StoredPoll,
  resultsWaiting: number,
  expiresAt: number | null,
  now: number,
): number | null {
  if (poll.error !== undefined || resultsWaiting >= poll.minResults) return now
  const at = Math.min(poll.deadline ?? Number.POSITIVE_INFINITY, expiresAt ?? Number.POSITIVE_INFINITY)
  return Number.isFinite(at) ? at : null
}
