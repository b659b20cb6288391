import { json, nul } from './callSql.js'
import { IdempotencyConflict, inputDigest } from './idempotencyConflict.js'
import { namedParams, type Statement } from './namedParams.js'
import { insertDebounced } from './postgresDebounce.js'
import { type PostgresPool, runOn } from './postgresPool.js'
import { storableCall } from './storableValues.js'
import type { InsertOptions, InsertResult, NewCall } from './store.js'

/** The channel a schema's inserts notify, and this store's instance (the payload, so it skips its own). */
export interface Notify {
  readonly channel: string
  readonly instance: string
}

/**
 * A multi-row insert into `calls` from parallel arrays (one statement whatever the batch size), and a
 * NOTIFY. `parentEpoch`: children a Poll starts owe that epoch of their parent a result.
 */
export function insertStatement(
  s: string,
  calls: readonly NewCall[],
  notify: Notify,
  parentEpoch: number | null = null,
): Statement {
  const { $, values } = namedParams({
    id: calls.map((c) => c.dispatchId),
    function: calls.map((c) => c.function),
    endpoint: calls.map((c) => c.endpoint),
    input: calls.map((c) => json(c.input)),
    version: calls.map((c) => nul(c.version)),
    correlationId: calls.map((c) => nul(c.correlationId)),
    maxAttempts: calls.map((c) => c.maxAttempts),
    createdAt: calls.map((c) => c.createdAt),
    dueAt: calls.map((c) => c.dueAt),
    expiresAt: calls.map((c) => nul(c.expiresAt)),
    expirationMs: calls.map((c) => nul(c.expirationMs)),
    fairnessKey: calls.map((c) => nul(c.fairnessKey)),
    idempotencyKey: calls.map((c) => nul(c.idempotencyKey)),
    parentId: calls.map((c) => nul(c.parentDispatchId)),
    rootId: calls.map((c) => nul(c.rootDispatchId)),
    traceparent: calls.map((c) => nul(c.traceparent)),
    detached: calls.map((c) => c.detached === true),
    priority: calls.map((c) => c.priority ?? 0),
    // A rate-limited call is a capped call: a key ('' without a concurrency limit) marks it.
    concurrencyKey: calls.map((c) => nul(c.concurrency?.key ?? (c.rateLimit === undefined ? undefined : ''))),
    concurrencyLimit: calls.map((c) => nul(c.concurrency?.limit)),
    rateKey: calls.map((c) => nul(c.rateLimit?.key)),
    rateLimit: calls.map((c) => nul(c.rateLimit?.limit)),
    ratePeriodMs: calls.map((c) => nul(c.rateLimit?.periodMs)),
    channel: notify.channel,
    instance: notify.instance,
    parentEpoch,
  })
  const text = `WITH inserted AS (
      INSERT INTO ${s}.calls (id, function, endpoint, input, version, correlation_id, state, max_attempts,
        created_at, updated_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
        parent_epoch, traceparent, detached, priority, concurrency_key, concurrency_limit, rate_key, rate_limit,
        rate_period_ms)
      SELECT id, function, endpoint, input, version, correlation_id, 'pending', max_attempts,
        created_at, created_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
        ${$.parentEpoch}::int, traceparent, detached, priority, concurrency_key, concurrency_limit, rate_key, rate_limit,
        rate_period_ms
      FROM unnest(${$.id}::text[], ${$.function}::text[], ${$.endpoint}::text[], ${$.input}::text[],
        ${$.version}::text[], ${$.correlationId}::text[], ${$.maxAttempts}::int[], ${$.createdAt}::bigint[],
        ${$.dueAt}::bigint[], ${$.expiresAt}::bigint[], ${$.expirationMs}::bigint[], ${$.fairnessKey}::text[],
        ${$.idempotencyKey}::text[], ${$.parentId}::text[], ${$.rootId}::text[], ${$.traceparent}::text[],
        ${$.detached}::boolean[], ${$.priority}::smallint[], ${$.concurrencyKey}::text[], ${$.concurrencyLimit}::int[],
        ${$.rateKey}::text[], ${$.rateLimit}::int[], ${$.ratePeriodMs}::int[])
        AS u(id, function, endpoint, input, version, correlation_id, max_attempts, created_at, due_at, expires_at,
          expiration_ms, fairness_key, idempotency_key, parent_id, root_id, traceparent, detached, priority,
          concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms)
      RETURNING 1
    )
    SELECT pg_notify(${$.channel}, ${$.instance})`
  // Prepared: a store's inserts all have this text (a single call's insert took longer to plan than to run).
  return { text, values, name: 'dispatch_insert_calls' }
}

/**
 * Records a batch on PostgreSQL (the Store's `insertCalls`): one statement without idempotency keys;
 * with keys, one transaction that claims each key (or finds its holder) before inserting the new calls.
 */
export async function insertCalls(
  pool: PostgresPool,
  s: string,
  notify: Notify,
  given: readonly NewCall[],
  options: InsertOptions,
): Promise<InsertResult[]> {
  if (given.length === 0) return []
  const calls = given.map(storableCall)
  // A key is scoped to its call's function and endpoint. Within a batch the first call with a scoped
  // key wins; the repeats get its id (or, with another input, refuse the batch).
  const scopeOf = (call: NewCall) => JSON.stringify([call.idempotencyKey, call.function, call.endpoint])
  const firstWithKey = new Map<string, { call: NewCall; digest: string }>()
  for (const call of calls) {
    if (call.idempotencyKey === undefined) continue
    const scope = scopeOf(call)
    if (!firstWithKey.has(scope)) firstWithKey.set(scope, { call, digest: inputDigest(call.input) })
  }
  if (firstWithKey.size === 0 && !calls.some((call) => call.debounce !== undefined)) {
    // No keys: one statement, so one round trip and an implicit transaction.
    const insert = insertStatement(s, calls, notify)
    await pool.run(insert)
    return calls.map((call) => ({ dispatchId: call.dispatchId, inserted: true }))
  }
  const since = options.now - options.idempotencyWindowMs
  // Keys in a fixed order, so two batches sharing keys lock them in the same order (no deadlock).
  const scopes = [...firstWithKey.keys()].sort()
  const firsts = scopes.map((scope) => firstWithKey.get(scope)!)
  return pool.transaction(async (client) => {
    // A key is ours when it is new or was recorded before the window; a concurrent batch with the
    // same key makes this wait for that batch's outcome (the unique index), then see its row.
    const won = await client.query<{ key: string; function: string; endpoint: string }>(
      `INSERT INTO ${s}.idempotency_keys AS k (key, function, endpoint, dispatch_id, input_hash, created_at)
       SELECT key, function, endpoint, dispatch_id, input_hash, $6::bigint
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         AS u(key, function, endpoint, dispatch_id, input_hash)
       ON CONFLICT (key, function, md5(endpoint)) DO UPDATE SET endpoint = EXCLUDED.endpoint,
         dispatch_id = EXCLUDED.dispatch_id, input_hash = EXCLUDED.input_hash, created_at = EXCLUDED.created_at
         WHERE k.created_at < $7::bigint
       RETURNING key, function, endpoint`,
      [
        firsts.map((f) => f.call.idempotencyKey),
        firsts.map((f) => f.call.function),
        firsts.map((f) => f.call.endpoint),
        firsts.map((f) => f.call.dispatchId),
        firsts.map((f) => f.digest),
        options.now,
        since,
      ],
    )
    const ours = new Set(won.rows.map((r) => JSON.stringify([r.key, r.function, r.endpoint])))
    const existing = new Map<string, { dispatchId: string; digest: string | null }>()
    const theirs = firsts.filter((f) => !ours.has(scopeOf(f.call)))
    if (theirs.length > 0) {
      const seen = await client.query<{
        key: string
        function: string
        endpoint: string
        dispatch_id: string
        input_hash: string | null
      }>(
        `SELECT k.key, k.function, k.endpoint, k.dispatch_id, k.input_hash FROM ${s}.idempotency_keys AS k
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS u(key, function, endpoint)
           ON k.key = u.key AND k.function = u.function AND md5(k.endpoint) = md5(u.endpoint) AND k.endpoint = u.endpoint`,
        [
          theirs.map((f) => f.call.idempotencyKey),
          theirs.map((f) => f.call.function),
          theirs.map((f) => f.call.endpoint),
        ],
      )
      for (const row of seen.rows) {
        existing.set(JSON.stringify([row.key, row.function, row.endpoint]), {
          dispatchId: row.dispatch_id,
          digest: row.input_hash,
        })
      }
    }
    const results: InsertResult[] = []
    const fresh: NewCall[] = []
    for (const [index, call] of calls.entries()) {
      const key = call.idempotencyKey
      const scope = key === undefined ? '' : scopeOf(call)
      const first = firstWithKey.get(scope)
      if (key === undefined || (ours.has(scope) && first?.call === call)) {
        fresh.push(call)
        results.push({ dispatchId: call.dispatchId, inserted: true })
        continue
      }
      const holder = ours.has(scope)
        ? { dispatchId: first!.call.dispatchId, digest: first!.digest }
        : existing.get(scope)
      if (holder === undefined) throw new Error(`idempotency key ${JSON.stringify(key)} vanished during the insert`)
      const digest = call === first?.call ? first.digest : inputDigest(call.input)
      if (holder.digest !== null && holder.digest !== digest) {
        throw new IdempotencyConflict(index, key, call.function, call.endpoint, holder.dispatchId)
      }
      results.push({ dispatchId: holder.dispatchId, inserted: false })
    }
    // Debounced calls (docs/flow-control.md) take their own path, which stores the others too.
    if (fresh.some((call) => call.debounce !== undefined)) {
      const insert = (rows: readonly NewCall[]) => {
        const statement = insertStatement(s, rows, notify)
        return runOn(client, statement)
      }
      return insertDebounced(client, s, insert, fresh, results, options.now)
    }
    if (fresh.length > 0) {
      const insert = insertStatement(s, fresh, notify)
      await runOn(client, insert)
    }
    return results
  })
}
