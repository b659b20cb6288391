import type { CallState } from 'dispatch-functions/protocol'
import type { ListedCall, ListFilter, ListPage, StoredCall } from './store.js'

/** The calls columns a List page reads: every column but the coroutine state and the origin. */
export const LISTED_COLUMNS = `id, function, endpoint, version, correlation_id, state, status, attempts, max_attempts,
  created_at, updated_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
  lease_owner, results_waiting, epoch, restarts, poll_state IS NOT NULL AS has_poll`

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

/** A row of a List query (the same column names in both stores). */
export interface ListedRow {
  id: string
  function: string
  endpoint: string
  version: string | null
  correlation_id: string | null
  state: CallState
  status: string | null
  attempts: number
  max_attempts: number
  created_at: number
  updated_at: number
  due_at: number | null
  expires_at: number | null
  expiration_ms: number | null
  fairness_key: string | null
  idempotency_key: string | null
  parent_id: string | null
  root_id: string | null
  lease_owner: string | null
  results_waiting: number
  epoch: number
  restarts: number
  has_poll: number | boolean
  input: string | null
  output: string | null
  error: string | null
  input_bytes: number | null
  output_bytes: number | null
  error_bytes: number | null
}

const parsed = (text: string | null): any => (text === null ? undefined : JSON.parse(text))
const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value)
/** The size of a message that was left out (there is one, but it was not read). */
const leftOut = (text: string | null, bytes: number | null): number | undefined =>
  text === null && bytes !== null ? Number(bytes) : undefined

export function toListedCall(row: ListedRow): ListedCall {
  return {
    dispatchId: row.id,
    function: row.function,
    endpoint: row.endpoint,
    input: parsed(row.input),
    version: opt(row.version),
    correlationId: opt(row.correlation_id),
    state: row.state,
    status: opt(row.status) as StoredCall['status'],
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    dueAt: opt(row.due_at),
    expiresAt: opt(row.expires_at),
    expirationMs: opt(row.expiration_ms),
    fairnessKey: opt(row.fairness_key),
    idempotencyKey: opt(row.idempotency_key),
    parentDispatchId: opt(row.parent_id),
    rootDispatchId: opt(row.root_id),
    output: parsed(row.output),
    error: parsed(row.error),
    leaseOwner: opt(row.lease_owner),
    resultsWaiting: row.results_waiting,
    epoch: row.epoch,
    restarts: row.restarts,
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
