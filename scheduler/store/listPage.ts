import { type CallColumns, callFields } from './callRow.js'
import type { ListedCall, ListFilter, ListPage } from './store.js'

/** The calls columns a List page reads: every column but the coroutine state and the origin. */
export const LISTED_COLUMNS = `id, function, endpoint, version, correlation_id, state, status, attempts, max_attempts,
  created_at, updated_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
  lease_owner, results_waiting, epoch, restarts, priority, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms,
  debounce_key, debounce_keep, debounce_window_ms, debounce_until, debounce_count,
  poll_state IS NOT NULL AS has_poll`

/**
 * The messages of a List row: each given only when it is at most `max` bytes, with its size, so a page
 * of calls with large inputs never reads those inputs. `max` is the placeholder of the cap parameter.
 */
export const listedMessages = (max: string): string =>
  ['input', 'output', 'error']
    .map((c) => `CASE WHEN octet_length(${c}) <= ${max} THEN ${c} END AS ${c}, octet_length(${c}) AS ${c}_bytes`)
    .join(', ')

/** The message cap as a query parameter: every message when the filter sets none. */
export const messageCap = (filter: ListFilter): number => filter.maxMessageBytes ?? Number.MAX_SAFE_INTEGER

/** A row of a List query (the same column names in both stores): no coroutine state, no origin. */
export interface ListedRow extends CallColumns {
  has_poll: number | boolean
  input_bytes: number | null
  output_bytes: number | null
  error_bytes: number | null
}

/** The size of a message that was left out (there is one, but it was not read). */
const leftOut = (text: string | null, bytes: number | null): number | undefined =>
  text === null && bytes !== null ? Number(bytes) : undefined

export function toListedCall(row: ListedRow): ListedCall {
  return {
    ...callFields(row),
    hasPoll: Boolean(row.has_poll),
    inputBytes: leftOut(row.input, row.input_bytes),
    outputBytes: leftOut(row.output, row.output_bytes),
    errorBytes: leftOut(row.error, row.error_bytes),
  }
}

/**
 * A page from up to `limit + 1` rows (newest first): at most `limit` calls, ending early once the
 * messages given add up to `maxPageBytes` (never empty); `nextAfter` is set when rows are left.
 */
export function toListPage(rows: readonly ListedRow[], filter: ListFilter): ListPage {
  const budget = filter.maxPageBytes ?? Number.POSITIVE_INFINITY
  const calls: ListedCall[] = []
  let bytes = 0
  for (const row of rows) {
    if (calls.length === filter.limit) break
    const size =
      (row.input === null ? 0 : Number(row.input_bytes ?? 0)) +
      (row.output === null ? 0 : Number(row.output_bytes ?? 0)) +
      (row.error === null ? 0 : Number(row.error_bytes ?? 0))
    if (calls.length > 0 && bytes + size > budget) break
    bytes += size
    calls.push(toListedCall(row))
  }
  const more = rows.length > calls.length
  return { calls, nextAfter: more ? calls[calls.length - 1]?.dispatchId : undefined }
}
