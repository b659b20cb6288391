import type { CallState } from 'dispatch-functions/protocol'
import type { CallRow } from './callRow.js'

/**
 * Every column of `calls`, in the order {@link callRowOf} reads them. Whole rows are read as arrays
 * (better-sqlite3's raw mode) and made into objects here: building a row object of ~50 columns in
 * better-sqlite3's native code costs about three times as much as this literal (~15 µs against ~5 µs
 * a row, measured), and claims read every column of every call they take. A column added by a
 * migration goes at the end of this list and of the literal; a test compares both with the table.
 */
export const CALL_ROW_COLUMNS = [
  'id',
  'function',
  'endpoint',
  'input',
  'version',
  'correlation_id',
  'state',
  'status',
  'attempts',
  'max_attempts',
  'created_at',
  'updated_at',
  'due_at',
  'expires_at',
  'expiration_ms',
  'fairness_key',
  'idempotency_key',
  'parent_id',
  'root_id',
  'output',
  'error',
  'lease_owner',
  'origin_function',
  'origin_endpoint',
  'origin_input',
  'poll_state',
  'min_results',
  'max_results',
  'poll_deadline',
  'poll_error',
  'results_waiting',
  'epoch',
  'restarts',
  'parent_epoch',
  'traceparent',
  'detached',
  'priority',
  'concurrency_key',
  'concurrency_limit',
  'rate_key',
  'rate_limit',
  'rate_period_ms',
  'debounce_key',
  'debounce_keep',
  'debounce_window_ms',
  'debounce_until',
  'debounce_count',
] as const

/** `CALL_ROW_COLUMNS` for a SELECT or a RETURNING clause. */
export const CALL_ROW_SQL = CALL_ROW_COLUMNS.join(', ')

/** A row read in raw mode with the columns of {@link CALL_ROW_SQL}, as an object. */
export function callRowOf(v: readonly unknown[]): CallRow & { detached: number } {
  return {
    id: v[0] as string,
    function: v[1] as string,
    endpoint: v[2] as string,
    input: v[3] as string | null,
    version: v[4] as string | null,
    correlation_id: v[5] as string | null,
    state: v[6] as CallState,
    status: v[7] as string | null,
    attempts: v[8] as number,
    max_attempts: v[9] as number,
    created_at: v[10] as number,
    updated_at: v[11] as number,
    due_at: v[12] as number | null,
    expires_at: v[13] as number | null,
    expiration_ms: v[14] as number | null,
    fairness_key: v[15] as string | null,
    idempotency_key: v[16] as string | null,
    parent_id: v[17] as string | null,
    root_id: v[18] as string | null,
    output: v[19] as string | null,
    error: v[20] as string | null,
    lease_owner: v[21] as string | null,
    origin_function: v[22] as string | null,
    origin_endpoint: v[23] as string | null,
    origin_input: v[24] as string | null,
    poll_state: v[25] as string | null,
    min_results: v[26] as number | null,
    max_results: v[27] as number | null,
    poll_deadline: v[28] as number | null,
    poll_error: v[29] as string | null,
    results_waiting: v[30] as number,
    epoch: v[31] as number,
    restarts: v[32] as number,
    parent_epoch: v[33] as number | null,
    traceparent: v[34] as string | null,
    detached: v[35] as number,
    priority: v[36] as number,
    concurrency_key: v[37] as string | null,
    concurrency_limit: v[38] as number | null,
    rate_key: v[39] as string | null,
    rate_limit: v[40] as number | null,
    rate_period_ms: v[41] as number | null,
    debounce_key: v[42] as string | null,
    debounce_keep: v[43] as string | null,
    debounce_window_ms: v[44] as number | null,
    debounce_until: v[45] as number | null,
    debounce_count: v[46] as number | null,
  }
}

/** Every raw row as an object. */
export function callRowsOf(rows: readonly unknown[]): (CallRow & { detached: number })[] {
  return (rows as readonly (readonly unknown[])[]).map(callRowOf)
}
