import { json, nul } from './callSql.js'
import { namedParams, type Statement } from './namedParams.js'
import type { NewCall } from './store.js'

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
    channel: notify.channel,
    instance: notify.instance,
    parentEpoch,
  })
  const text = `WITH inserted AS (
      INSERT INTO ${s}.calls (id, function, endpoint, input, version, correlation_id, state, max_attempts,
        created_at, updated_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
        parent_epoch)
      SELECT id, function, endpoint, input, version, correlation_id, 'pending', max_attempts,
        created_at, created_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
        ${$.parentEpoch}::int
      FROM unnest(${$.id}::text[], ${$.function}::text[], ${$.endpoint}::text[], ${$.input}::text[],
        ${$.version}::text[], ${$.correlationId}::text[], ${$.maxAttempts}::int[], ${$.createdAt}::bigint[],
        ${$.dueAt}::bigint[], ${$.expiresAt}::bigint[], ${$.expirationMs}::bigint[], ${$.fairnessKey}::text[],
        ${$.idempotencyKey}::text[], ${$.parentId}::text[], ${$.rootId}::text[])
        AS u(id, function, endpoint, input, version, correlation_id, max_attempts, created_at, due_at, expires_at,
          expiration_ms, fairness_key, idempotency_key, parent_id, root_id)
      RETURNING 1
    )
    SELECT pg_notify(${$.channel}, ${$.instance})`
  return { text, values }
}
