import type pg from 'pg'
import { json, nul } from './callSql.js'
import {
  type Collapsed,
  debounceColumns,
  debounceScope,
  debouncing,
  planDebounce,
  storedDebouncing,
  survivingResults,
} from './debounceCollapse.js'
import type { InsertResult, NewCall } from './store.js'

/**
 * Debounce on PostgreSQL (docs/flow-control.md), inside the transaction of a batch's insert: stores
 * (with `insert`) `fresh` (the batch's calls that passed their idempotency keys, in batch order; `results` theirs),
 * each debounced call collapsed into the pending, never started call of its key or stored as the
 * first of its window. Returns `results` with each collapsed call answering with the id of the call
 * it collapsed into.
 *
 * Nodes dispatching the same key at once are serialized by a transaction-scoped advisory lock per
 * key, taken in a fixed order (no deadlock between batches sharing keys), so the second sees the
 * first's call once it commits; the debouncing call is read `FOR UPDATE`, so a claim cannot start it
 * while it is changed (and a call a claim has started is no longer debouncing when the lock is
 * granted: PostgreSQL checks the condition again). The unique index on debouncing calls makes two
 * of them for one key impossible whatever happens.
 */
export async function insertDebounced(
  client: pg.PoolClient,
  s: string,
  insert: (calls: readonly NewCall[]) => Promise<unknown>,
  fresh: readonly NewCall[],
  results: readonly InsertResult[],
  now: number,
): Promise<InsertResult[]> {
  const debounced = fresh.filter((call) => call.debounce !== undefined)
  const scopes = [...new Set(debounced.map((call) => debounceScope(call, call.debounce!)))].sort()
  for (const scope of scopes) {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `dispatch-functions:debounce:${s}:${scope}`,
    ])
  }
  const keys = scopes.map((scope) => JSON.parse(scope) as [string, string, string])
  const found = await client.query<Parameters<typeof storedDebouncing>[0] & { scope: string }>(
    `SELECT c.id, c.due_at, c.expires_at, c.expiration_ms, c.debounce_until, c.debounce_count, u.scope
     FROM ${s}.calls AS c
     JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(function, endpoint, key, scope)
       ON c.function = u.function AND md5(c.endpoint) = md5(u.endpoint) AND c.endpoint = u.endpoint
         AND c.debounce_key = u.key
     WHERE ${debouncing('c')}
     FOR UPDATE OF c`,
    [keys.map((k) => k[0]), keys.map((k) => k[1]), keys.map((k) => k[2]), scopes],
  )
  const stored = new Map<string, Collapsed>(found.rows.map((row) => [row.scope, storedDebouncing(row)]))
  const plan = planDebounce(debounced, stored)
  const inserts = [...fresh.filter((call) => call.debounce === undefined), ...plan.inserts.map((i) => i.call)]
  if (inserts.length > 0) await insert(inserts)
  if (plan.inserts.length > 0) {
    const marks = plan.inserts.map((i) => ({ id: i.call.dispatchId, ...debounceColumns(i.debounce, i.dispatches) }))
    await client.query(
      `UPDATE ${s}.calls AS c SET debounce_key = u.key, debounce_keep = u.keep, debounce_window_ms = u.window_ms,
         debounce_until = u.until, debounce_count = u.count
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::int[])
         AS u(id, key, keep, window_ms, until, count)
       WHERE c.id = u.id`,
      [
        marks.map((m) => m.id),
        marks.map((m) => m.debounce_key),
        marks.map((m) => m.debounce_keep),
        marks.map((m) => m.debounce_window_ms),
        marks.map((m) => m.debounce_until),
        marks.map((m) => m.debounce_count),
      ],
    )
  }
  if (plan.updates.length > 0) {
    const u = plan.updates
    await client.query(
      `UPDATE ${s}.calls AS c SET due_at = u.due_at, expires_at = u.expires_at, expiration_ms = u.expiration_ms,
         debounce_count = u.count, input = CASE WHEN u.replace THEN u.input ELSE c.input END,
         version = CASE WHEN u.replace THEN u.version ELSE c.version END, updated_at = $9
       FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::boolean[], $7::text[],
         $8::text[]) AS u(id, due_at, expires_at, expiration_ms, count, replace, input, version)
       WHERE c.id = u.id`,
      [
        u.map((c) => c.dispatchId),
        u.map((c) => c.dueAt),
        u.map((c) => nul(c.expiresAt)),
        u.map((c) => nul(c.expirationMs)),
        u.map((c) => c.dispatches),
        u.map((c) => c.replaced !== undefined),
        u.map((c) => json(c.replaced?.input)),
        u.map((c) => nul(c.replaced?.version)),
        now,
      ],
    )
  }
  // A collapsed call's idempotency key answers with the call it collapsed into from now on.
  const rekeyed = debounced.filter((c) => c.idempotencyKey !== undefined && plan.survivors.has(c.dispatchId))
  if (rekeyed.length > 0) {
    await client.query(
      `UPDATE ${s}.idempotency_keys AS k SET dispatch_id = u.survivor
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(key, function, endpoint, survivor)
       WHERE k.key = u.key AND k.function = u.function AND md5(k.endpoint) = md5(u.endpoint)
         AND k.endpoint = u.endpoint`,
      [
        rekeyed.map((c) => c.idempotencyKey),
        rekeyed.map((c) => c.function),
        rekeyed.map((c) => c.endpoint),
        rekeyed.map((c) => plan.survivors.get(c.dispatchId)),
      ],
    )
  }
  return survivingResults(results, plan.survivors)
}
