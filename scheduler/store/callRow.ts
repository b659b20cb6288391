import type { CallState } from 'dispatch-functions/protocol'
import { type PollColumns, storedPoll } from './coroutineRows.js'
import { type DebounceColumns, storedDebounce } from './debounceCollapse.js'
import type { ListedCall, StoredCall } from './store.js'

/**
 * A row of `calls` as both stores read it (the same column names in SQLite and PostgreSQL), and the
 * call it stands for: one mapping for claims, Get and List.
 */

export const parsed = (text: string | null): any => (text === null ? undefined : JSON.parse(text))
export const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value)

/** The columns every read of a call has, whole calls and List rows alike. */
export interface CallColumns extends DebounceColumns {
  id: string
  function: string
  endpoint: string
  input: string | null
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
  output: string | null
  error: string | null
  lease_owner: string | null
  results_waiting: number
  epoch: number
  restarts: number
  /** Added by a later migration (flow control): 0 for rows written before. */
  priority: number
  concurrency_key: string | null
  concurrency_limit: number | null
  /** Added by a later migration (rate limits): null for rows written before. */
  rate_key?: string | null
  rate_limit?: number | null
  rate_period_ms?: number | null
}

/** A whole row of `calls`: its origin and coroutine columns too. */
export interface CallRow extends CallColumns, PollColumns {
  origin_function: string | null
  origin_endpoint: string | null
  origin_input: string | null
  parent_epoch: number | null
  /** Added by a later migration: absent from rows of a store that predates it. */
  traceparent?: string | null
}

type CommonFields = Omit<
  StoredCall & ListedCall,
  | 'originFunction'
  | 'originEndpoint'
  | 'originInput'
  | 'poll'
  | 'results'
  | 'hasPoll'
  | 'inputBytes'
  | 'outputBytes'
  | 'errorBytes'
>

/** The fields of a call that every read gives. */
export function callFields(row: CallColumns): CommonFields {
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
    priority: row.priority,
    // A rate-limited call without a concurrency limit is capped (a key) with no limit (a null limit).
    concurrency:
      row.concurrency_key === null || row.concurrency_limit === null
        ? undefined
        : { key: row.concurrency_key, limit: row.concurrency_limit },
    rateLimit:
      row.rate_key == null || row.rate_limit == null || row.rate_period_ms == null
        ? undefined
        : { key: row.rate_key, limit: row.rate_limit, periodMs: Number(row.rate_period_ms) },
    debounce: storedDebounce(row),
  }
}

/** A whole call, as claims and Get return it. */
export function toStoredCall(row: CallRow): StoredCall {
  // The common fields' object completed in place: a claim maps every call it takes, and copying ~30
  // fields into a new object (a spread) was a fifth of a claim's time.
  const call = callFields(row) as Mutable<StoredCall>
  call.originFunction = row.origin_function ?? row.function
  call.originEndpoint = row.origin_endpoint ?? row.endpoint
  // Without a tail call the origin is the input itself: parsed once, shared (calls are not mutated).
  call.originInput = row.origin_function === null ? call.input : parsed(row.origin_input)
  call.poll = storedPoll(row)
  call.results = []
  if (row.traceparent != null) call.traceparent = row.traceparent
  return call
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
