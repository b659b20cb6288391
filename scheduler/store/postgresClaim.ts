import { namedParams, type Statement } from './namedParams.js'
import type { ClaimRequest, QueueClaimRequest } from './store.js'

/**
 * Claims on PostgreSQL. SKIP LOCKED: concurrent claims (other nodes) pass over rows another claim is
 * taking, and the row lock re-checks `due_at` against the committed version, so no call is leased twice.
 * The locked ids reach the UPDATE as one array (`id = ANY(ARRAY(...))`): a probe of the primary key
 * each. Joined as a relation instead, the planner guessed the claim's size from its LIMIT (unknown
 * per queue) and hashed it against a sequential scan of the whole table: 10 ms at 40,000 rows.
 */

/**
 * A claim's commit does not wait for its WAL to reach the disk (`SET LOCAL synchronous_commit = off`,
 * as a one-time condition of the claim's own statement, so that it stays one round trip). A claim
 * needs no flush: what a crash of PostgreSQL could take back is only the lease and the attempt count
 * of calls then delivered again — at least once, as for any attempt whose outcome was not recorded
 * (the outcome of such an attempt is stale: its claim no longer holds). The next synchronous commit
 * (an outcome, a dispatch) flushes it with everything before it. The SQLite store does the same.
 * It spares the delivery loop, which waits for each claim, a disk flush per claim.
 */
const UNSYNCED = "(SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL"

/** Leases up to `limit` due calls, of one queue or of all, oldest due first; returns the claimed rows. */
export function claimStatement(s: string, request: ClaimRequest): Statement {
  const values: unknown[] = [request.now, request.limit, request.owner, request.now + request.leaseMs]
  let queue = ''
  // From one queue, ordered like calls_queue_due (see claimQueuesStatement: no sort of the backlog).
  let order = 'due_at'
  if (request.queue !== undefined) {
    order = 'fairness_key, due_at'
    values.push(request.queue.endpoint, request.queue.function)
    queue = 'AND endpoint = $5 AND function = $6'
    if (request.queue.fairnessKey === undefined) queue += ' AND fairness_key IS NULL'
    else {
      values.push(request.queue.fairnessKey)
      queue += ' AND fairness_key = $7'
    }
  }
  const text = `WITH due AS (
        SELECT id FROM ${s}.calls
        WHERE due_at IS NOT NULL AND due_at <= $1 AND concurrency_key IS NULL ${queue}
        ORDER BY ${order} LIMIT $2
        FOR UPDATE SKIP LOCKED
      )
      UPDATE ${s}.calls AS c
      SET state = 'running', attempts = c.attempts + 1, lease_owner = $3, due_at = $4, updated_at = $1
      WHERE c.id = ANY(ARRAY(SELECT id FROM due)) AND ${UNSYNCED}
      RETURNING c.*`
  return { text, values }
}

/**
 * Every queue's share in one statement: a lateral subquery per queue, each with its own limit,
 * locking with SKIP LOCKED like {@link claimStatement}. Queues with and without a fairness key are
 * separate subqueries so each is an equality (or IS NULL) on the whole calls_queue_due prefix and
 * reads its calls in due order from the index, instead of sorting the queue's backlog. The order
 * names fairness_key although it is fixed: PostgreSQL does not treat IS NULL as an equality, so
 * `ORDER BY due_at` alone sorted the whole unkeyed backlog on every claim (7 ms at 30,000 calls).
 */
export function claimQueuesStatement(s: string, request: QueueClaimRequest): Statement {
  const queues = request.queues.filter((q) => q.limit > 0)
  const keyed = queues.filter((q) => q.queue.fairnessKey !== undefined)
  const unkeyed = queues.filter((q) => q.queue.fairnessKey === undefined)
  const { $, values } = namedParams({
    now: request.now,
    owner: request.owner,
    until: request.now + request.leaseMs,
    keyedEndpoint: keyed.map((q) => q.queue.endpoint),
    keyedFunction: keyed.map((q) => q.queue.function),
    keyedFairnessKey: keyed.map((q) => q.queue.fairnessKey),
    keyedLimit: keyed.map((q) => q.limit),
    unkeyedEndpoint: unkeyed.map((q) => q.queue.endpoint),
    unkeyedFunction: unkeyed.map((q) => q.queue.function),
    unkeyedLimit: unkeyed.map((q) => q.limit),
  })
  const share = (from: string, key: string) => `
        SELECT d.id FROM ${from}
        CROSS JOIN LATERAL (
          SELECT id FROM ${s}.calls AS c
          WHERE c.due_at IS NOT NULL AND c.due_at <= ${$.now} AND c.endpoint = q.endpoint AND c.function = q.function
            AND ${key} AND c.concurrency_key IS NULL
          ORDER BY c.fairness_key, c.due_at LIMIT q.lim
          FOR UPDATE SKIP LOCKED
        ) AS d`
  const keyedFrom = `unnest(${$.keyedEndpoint}::text[], ${$.keyedFunction}::text[], ${$.keyedFairnessKey}::text[], ${$.keyedLimit}::int[]) AS q(endpoint, function, fairness_key, lim)`
  const unkeyedFrom = `unnest(${$.unkeyedEndpoint}::text[], ${$.unkeyedFunction}::text[], ${$.unkeyedLimit}::int[]) AS q(endpoint, function, lim)`
  const text = `WITH keyed AS (${share(keyedFrom, 'c.fairness_key = q.fairness_key')}
      ), unkeyed AS (${share(unkeyedFrom, 'c.fairness_key IS NULL')}
      )
      UPDATE ${s}.calls AS c
      SET state = 'running', attempts = c.attempts + 1, lease_owner = ${$.owner}, due_at = ${$.until}, updated_at = ${$.now}
      WHERE c.id = ANY(ARRAY(SELECT id FROM keyed UNION ALL SELECT id FROM unkeyed)) AND ${UNSYNCED}
      RETURNING c.*`
  return { text, values }
}

/**
 * Up to `$2` distinct queues with a call due at `$1`. A loose index scan over calls_queue_due: one
 * index probe per queue with unfinished calls (DISTINCT would read every due row: a backlog of
 * millions on one queue). In the index order a NULL fairness key comes after the others of its
 * (endpoint, function).
 */
export function dueQueuesSql(s: string): string {
  const t = `${s}.calls`
  const open = 'c.due_at IS NOT NULL'
  const cols = 'c.endpoint, c.function, c.fairness_key'
  return `WITH RECURSIVE q AS (
        (SELECT ${cols} FROM ${t} AS c WHERE ${open} ORDER BY c.endpoint, c.function, c.fairness_key LIMIT 1)
        UNION ALL
        SELECT n.endpoint, n.function, n.fairness_key FROM q CROSS JOIN LATERAL (
          (SELECT ${cols} FROM ${t} AS c
           WHERE ${open} AND q.fairness_key IS NOT NULL AND c.endpoint = q.endpoint AND c.function = q.function
             AND c.fairness_key > q.fairness_key
           ORDER BY c.fairness_key LIMIT 1)
          UNION ALL
          (SELECT ${cols} FROM ${t} AS c
           WHERE ${open} AND q.fairness_key IS NOT NULL AND c.endpoint = q.endpoint AND c.function = q.function
             AND c.fairness_key IS NULL
           LIMIT 1)
          UNION ALL
          (SELECT ${cols} FROM ${t} AS c
           WHERE ${open} AND (c.endpoint, c.function) > (q.endpoint, q.function)
           ORDER BY c.endpoint, c.function, c.fairness_key LIMIT 1)
          LIMIT 1
        ) AS n
      )
      -- Keep the queues with a call due now: one index probe each (a LATERAL ... LIMIT 1, which
      -- the planner cannot turn into a semi-join over the whole table as it would an EXISTS).
      SELECT q.endpoint, q.function, q.fairness_key FROM q CROSS JOIN LATERAL (
        (SELECT 1 FROM ${t} AS c
         WHERE ${open} AND c.due_at <= $1 AND q.fairness_key IS NOT NULL
           AND c.endpoint = q.endpoint AND c.function = q.function AND c.fairness_key = q.fairness_key
         LIMIT 1)
        UNION ALL
        (SELECT 1 FROM ${t} AS c
         WHERE ${open} AND c.due_at <= $1 AND q.fairness_key IS NULL
           AND c.endpoint = q.endpoint AND c.function = q.function AND c.fairness_key IS NULL
         LIMIT 1)
        LIMIT 1
      ) AS due
      LIMIT $2`
}
