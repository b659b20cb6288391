import type pg from 'pg'
import { json, LIVE, NO_POLL, nul } from './callSql.js'
import { pollStateJson, suspendedDueAt } from './coroutineRows.js'
import { namedParams } from './namedParams.js'
import { insertStatement, type Notify } from './postgresInsert.js'
import { runOn } from './postgresPool.js'
import type { CompletionOf } from './store.js'

/**
 * A coroutine's turns on PostgreSQL, inside the transaction that applies them: a Poll suspends the
 * call (state, consumed results, children), a restart starts it again and cancels the tree below.
 * `s` is the quoted schema name.
 */

/** Records a Poll (state, consumed results, children) and suspends the call. */
export async function suspend(
  client: pg.PoolClient,
  s: string,
  notify: Notify,
  c: CompletionOf<'poll'>,
): Promise<boolean> {
  const { $, values } = namedParams({
    id: c.dispatchId,
    attempt: c.attempt,
    owner: c.owner,
    now: c.now,
    status: c.status,
    pollState: pollStateJson(c.poll.state),
    minResults: c.poll.minResults,
    maxResults: c.poll.maxResults,
    deadline: nul(c.poll.deadline),
    pollError: json(c.poll.error),
  })
  const { rows } = await client.query<{ id: string; epoch: number; expires_at: number | null }>(
    `UPDATE ${s}.calls AS c
     SET state = 'suspended', status = ${$.status}, attempts = c.restarts, output = NULL, error = NULL,
       poll_state = ${$.pollState}, min_results = ${$.minResults}, max_results = ${$.maxResults},
       poll_deadline = ${$.deadline}, poll_error = ${$.pollError}, due_at = NULL, lease_owner = NULL,
       updated_at = ${$.now}
     WHERE c.id = ${$.id} AND c.state = 'running' AND c.attempts = ${$.attempt} AND c.lease_owner = ${$.owner}
     RETURNING c.id, c.epoch, c.expires_at`,
    values,
  )
  const row = rows[0]
  if (row === undefined) return false
  if (c.consumed.length > 0) {
    await client.query(`DELETE FROM ${s}.call_results WHERE parent_id = $1 AND seq = ANY($2::bigint[])`, [
      row.id,
      [...c.consumed],
    ])
  }
  if (c.children.length > 0) {
    const insert = insertStatement(s, c.children, notify, row.epoch)
    await runOn(client, insert)
  }
  // Results that arrived while the turn ran count now. A child reporting concurrently waits for this
  // row's lock (taken above), then adds itself to the count stored here.
  const counted = await client.query<{ waiting: number }>(
    `SELECT COUNT(*) AS waiting FROM ${s}.call_results WHERE parent_id = $1 AND epoch = $2`,
    [row.id, row.epoch],
  )
  const waiting = counted.rows[0]?.waiting ?? 0
  await client.query(`UPDATE ${s}.calls SET results_waiting = $2, due_at = $3 WHERE id = $1`, [
    row.id,
    waiting,
    suspendedDueAt(c.poll, waiting, row.expires_at, c.now),
  ])
  return true
}

/** INCOMPATIBLE_STATE on a resumed turn: start again from the input, cancelling the tree below. */
export async function restart(client: pg.PoolClient, s: string, c: CompletionOf<'restart'>): Promise<boolean> {
  await lockDescendants(client, s, c.dispatchId)
  const { rows } = await client.query(
    `UPDATE ${s}.calls AS c
     SET state = 'pending', status = $5, output = NULL, error = $6, ${NO_POLL}, epoch = c.epoch + 1,
       restarts = c.restarts + 1, due_at = $4, lease_owner = NULL, updated_at = $4
     WHERE c.id = $1 AND c.state = 'running' AND c.attempts = $2 AND c.lease_owner = $3
     RETURNING c.id`,
    [c.dispatchId, c.attempt, c.owner, c.now, c.status, json(c.error)],
  )
  if (rows.length === 0) return false
  await cancelDescendants(client, s, c.dispatchId, c.now)
  return true
}

/**
 * A coroutine ended (its exit has `coroutine`): cancels its unfinished descendants but its detached
 * children and the trees below them, and drops their waiting results. Its descendants must be
 * locked first ({@link lockDescendants}).
 */
export async function cancelAttachedDescendants(
  client: pg.PoolClient,
  s: string,
  dispatchId: string,
  now: number,
): Promise<void> {
  await client.query(
    `WITH RECURSIVE tree(id) AS (
      SELECT id FROM ${s}.calls WHERE parent_id = $1 AND NOT detached
      UNION ALL SELECT c.id FROM ${s}.calls AS c JOIN tree ON c.parent_id = tree.id
    ), cancelled AS (
      UPDATE ${s}.calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = $2, ${NO_POLL}
      WHERE id IN (SELECT id FROM tree) AND state IN ${LIVE}
      RETURNING 1
    )
    DELETE FROM ${s}.call_results WHERE parent_id IN (SELECT id FROM tree)`,
    [dispatchId, now],
  )
}

function treeSql(s: string): string {
  return `WITH RECURSIVE tree(id) AS (
    SELECT id FROM ${s}.calls WHERE parent_id = $1
    UNION ALL SELECT c.id FROM ${s}.calls AS c JOIN tree ON c.parent_id = tree.id
  )`
}

/**
 * Locks a call's descendants, newest first, before the call itself is changed: children lock their
 * own row before their parent's when they report, so a cascade taking the parent first could deadlock.
 */
export async function lockDescendants(client: pg.PoolClient, s: string, dispatchId: string): Promise<void> {
  await client.query(
    `${treeSql(s)} SELECT c.id FROM ${s}.calls AS c WHERE c.id IN (SELECT id FROM tree)
     ORDER BY c.id DESC FOR UPDATE`,
    [dispatchId],
  )
}

/** Cancels every non-terminal descendant of a call and drops their and its waiting results. */
export async function cancelDescendants(
  client: pg.PoolClient,
  s: string,
  dispatchId: string,
  now: number,
): Promise<void> {
  await client.query(
    `${treeSql(s)}, cancelled AS (
      UPDATE ${s}.calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = $2, ${NO_POLL}
      WHERE id IN (SELECT id FROM tree) AND state IN ${LIVE}
      RETURNING 1
    )
    DELETE FROM ${s}.call_results WHERE parent_id = $1 OR parent_id IN (SELECT id FROM tree)`,
    [dispatchId, now],
  )
}
