import { attemptRecord } from './attemptRecord.js'
import { json, LIVE, NO_POLL, nul } from './callSql.js'
import { namedParams, type Statement } from './namedParams.js'
import { ATTEMPT_HISTORY_LIMIT, type Completion, type CompletionOf } from './store.js'

/**
 * Terminal outcomes, retries and tail calls of many calls in one statement. `finished` skips
 * children whose parent is in `batch`, clears the coroutine columns, and reports each child's outcome
 * to its live parent of the same epoch (`woken`, one row per parent, so a concurrent report re-reads
 * the parent's count under its row lock), storing the result after it. Returns the applied ids.
 * Only the kinds present are in the statement (Polls and restarts are not among them): each part
 * costs planning, and an empty UPDATE still reads the running calls (most batches are successes alone).
 */
export function completeStatement(s: string, completions: readonly Completion[], batch: readonly string[]): Statement {
  const finished = completions.filter(
    (c): c is CompletionOf<'succeeded' | 'failed'> => c.kind === 'succeeded' || c.kind === 'failed',
  )
  const retried = completions.filter((c): c is CompletionOf<'retry'> => c.kind === 'retry')
  const replaced = completions.filter((c): c is CompletionOf<'tailCall'> => c.kind === 'tailCall')
  const { $, values } = namedParams({
    ...(finished.length === 0
      ? {}
      : {
          finishedId: finished.map((c) => c.dispatchId),
          finishedAttempt: finished.map((c) => c.attempt),
          finishedOwner: finished.map((c) => c.owner),
          finishedNow: finished.map((c) => c.now),
          finishedStatus: finished.map((c) => c.status),
          finishedState: finished.map((c) => c.kind),
          finishedOutput: finished.map((c) => json(c.output)),
          finishedError: finished.map((c) => json(c.error)),
          batch,
        }),
    ...(retried.length === 0
      ? {}
      : {
          retriedId: retried.map((c) => c.dispatchId),
          retriedAttempt: retried.map((c) => c.attempt),
          retriedOwner: retried.map((c) => c.owner),
          retriedNow: retried.map((c) => c.now),
          retriedStatus: retried.map((c) => c.status),
          retriedDueAt: retried.map((c) => c.dueAt),
          retriedError: retried.map((c) => json(c.error)),
        }),
    ...(replaced.length === 0
      ? {}
      : {
          replacedId: replaced.map((c) => c.dispatchId),
          replacedAttempt: replaced.map((c) => c.attempt),
          replacedOwner: replaced.map((c) => c.owner),
          replacedNow: replaced.map((c) => c.now),
          replacedStatus: replaced.map((c) => c.status),
          replacedFunction: replaced.map((c) => c.function),
          replacedEndpoint: replaced.map((c) => c.endpoint),
          replacedInput: replaced.map((c) => json(c.input)),
          replacedVersion: replaced.map((c) => nul(c.version)),
          replacedExpiresAt: replaced.map((c) => nul(c.expiresAt)),
          replacedExpirationMs: replaced.map((c) => nul(c.expirationMs)),
        }),
    ...attemptValues([...finished, ...retried, ...replaced]),
  } as Record<CompleteParam, unknown>)
  const held = "c.id = u.id AND c.state = 'running' AND c.attempts = u.attempt AND c.lease_owner = u.owner"
  const parts: string[] = []
  const applied: string[] = []
  if (finished.length > 0) {
    applied.push('finished')
    parts.push(`finished AS (
      UPDATE ${s}.calls AS c
      SET state = u.state, status = u.status, output = u.output, error = u.error, due_at = NULL,
        lease_owner = NULL, updated_at = u.now, ${NO_POLL}
      FROM unnest(${$.finishedId}::text[], ${$.finishedAttempt}::int[], ${$.finishedOwner}::text[],
        ${$.finishedNow}::bigint[], ${$.finishedStatus}::text[], ${$.finishedState}::text[],
        ${$.finishedOutput}::text[], ${$.finishedError}::text[])
        AS u(id, attempt, owner, now, status, state, output, error)
      WHERE ${held} AND (c.parent_id IS NULL OR c.parent_id <> ALL(${$.batch}::text[]))
      RETURNING c.id, c.parent_id, c.parent_epoch, c.correlation_id, c.state, c.status, c.output, c.error, u.now
    ), reports AS (
      SELECT parent_id, parent_epoch, COUNT(*)::int AS n, MAX(now) AS now FROM finished
      WHERE parent_epoch IS NOT NULL GROUP BY parent_id, parent_epoch
    ), woken AS (
      UPDATE ${s}.calls AS p
      SET results_waiting = p.results_waiting + r.n,
        due_at = CASE WHEN p.state = 'suspended' AND p.results_waiting + r.n >= p.min_results
          AND (p.due_at IS NULL OR p.due_at > r.now) THEN r.now ELSE p.due_at END
      FROM reports AS r
      WHERE p.id = r.parent_id AND p.epoch = r.parent_epoch AND p.state IN ${LIVE}
      RETURNING p.id
    ), stored AS (
      INSERT INTO ${s}.call_results (parent_id, epoch, child_id, correlation_id, output, error, created_at)
      SELECT f.parent_id, f.parent_epoch, f.id, f.correlation_id,
        CASE WHEN f.state = 'failed' THEN NULL ELSE f.output END,
        CASE WHEN f.state = 'failed' THEN COALESCE(f.error, json_build_object('type', COALESCE(f.status, 'Failed'),
          'message', 'the call failed with ' || COALESCE(f.status, 'an error'))::text) END,
        f.now
      FROM finished AS f JOIN woken AS w ON w.id = f.parent_id
      ORDER BY f.now, f.id
    )`)
  }
  if (retried.length > 0) {
    applied.push('retried')
    parts.push(`retried AS (
      UPDATE ${s}.calls AS c
      SET state = 'pending', status = u.status, output = NULL, error = u.error, due_at = u.due_at,
        lease_owner = NULL, updated_at = u.now
      FROM unnest(${$.retriedId}::text[], ${$.retriedAttempt}::int[], ${$.retriedOwner}::text[],
        ${$.retriedNow}::bigint[], ${$.retriedStatus}::text[], ${$.retriedDueAt}::bigint[], ${$.retriedError}::text[])
        AS u(id, attempt, owner, now, status, due_at, error)
      WHERE ${held}
      RETURNING c.id
    )`)
  }
  if (replaced.length > 0) {
    applied.push('replaced')
    parts.push(`replaced AS (
      -- Right-hand sides read the old row, so origin_* capture the call as it was.
      UPDATE ${s}.calls AS c
      SET state = 'pending', status = u.status, attempts = 0, output = NULL, error = NULL,
        origin_input = CASE WHEN c.origin_function IS NULL THEN c.input ELSE c.origin_input END,
        origin_function = COALESCE(c.origin_function, c.function),
        origin_endpoint = COALESCE(c.origin_endpoint, c.endpoint),
        function = u.function, endpoint = u.endpoint, input = u.input, version = u.version,
        expires_at = COALESCE(u.expires_at, c.expires_at), expiration_ms = COALESCE(u.expiration_ms, c.expiration_ms),
        due_at = u.now, lease_owner = NULL, updated_at = u.now, ${NO_POLL}, epoch = c.epoch + 1, restarts = 0
      FROM unnest(${$.replacedId}::text[], ${$.replacedAttempt}::int[], ${$.replacedOwner}::text[],
        ${$.replacedNow}::bigint[], ${$.replacedStatus}::text[], ${$.replacedFunction}::text[],
        ${$.replacedEndpoint}::text[], ${$.replacedInput}::text[], ${$.replacedVersion}::text[],
        ${$.replacedExpiresAt}::bigint[], ${$.replacedExpirationMs}::bigint[])
        AS u(id, attempt, owner, now, status, function, endpoint, input, version, expires_at, expiration_ms)
      WHERE ${held}
      RETURNING c.id
    )`)
  }
  // A terminal call's and a tail call's waiting results go.
  const cleared = applied.filter((part) => part !== 'retried')
  if (cleared.length > 0) {
    const ids = cleared.map((part) => `SELECT id FROM ${part}`).join(' UNION ALL ')
    parts.push(`dropped AS (
      DELETE FROM ${s}.call_results WHERE parent_id IN (${ids})
    )`)
  }
  if (applied.length === 0) return { text: 'SELECT NULL::text AS id WHERE false', values: [] }
  parts.push(`applied AS (
      ${applied.map((part) => `SELECT id FROM ${part}`).join(' UNION ALL ')}
    )`)
  const text = `WITH ${parts.join(', ')}, ${attemptsCte(s, $)}
    SELECT id FROM applied`
  // One name per mix of kinds: the text depends on nothing else (a store has one schema).
  return { text, values, name: `dispatch_complete_${applied.join('_')}` }
}

type CompleteParam =
  | `finished${'Id' | 'Attempt' | 'Owner' | 'Now' | 'Status' | 'State' | 'Output' | 'Error'}`
  | 'batch'
  | `retried${'Id' | 'Attempt' | 'Owner' | 'Now' | 'Status' | 'DueAt' | 'Error'}`
  | `replaced${'Id' | 'Attempt' | 'Owner' | 'Now' | 'Status' | 'Function' | 'Endpoint' | 'Input' | 'Version' | 'ExpiresAt' | 'ExpirationMs'}`
  | keyof ReturnType<typeof attemptValues>

/** Adds a Poll's or a restart's attempt to its call's history, inside the transaction that applied it. */
export function attemptStatement(s: string, completion: Completion): Statement {
  const { $, values } = namedParams({ appliedId: completion.dispatchId, ...attemptValues([completion]) })
  return { text: `WITH applied AS (SELECT ${$.appliedId}::text AS id), ${attemptsCte(s, $)} SELECT 1`, values }
}

/** The parameters of {@link attemptsCte}: one history entry per completion. */
function attemptValues(completions: readonly Completion[]) {
  const records = completions.map((c) => ({ id: c.dispatchId, ...attemptRecord(c) }))
  return {
    attemptCallId: records.map((r) => r.id),
    attemptNumber: records.map((r) => r.attempt),
    attemptStartedAt: records.map((r) => r.startedAt),
    attemptFinishedAt: records.map((r) => r.finishedAt),
    attemptStatus: records.map((r) => r.status),
    attemptOutcome: records.map((r) => r.outcome),
    attemptError: records.map((r) => json(r.error)),
    historyLimit: ATTEMPT_HISTORY_LIMIT,
  }
}

type AttemptParams = Readonly<Record<keyof ReturnType<typeof attemptValues>, string>>

/**
 * CTEs that add the attempts of the calls in `applied` to their histories and drop the entries beyond
 * the limit. One statement sees one snapshot: the old entries are counted without the new one, so
 * each call keeps `limit - 1` of them.
 */
function attemptsCte(s: string, $: AttemptParams): string {
  return `attempted AS (
      INSERT INTO ${s}.call_attempts (call_id, attempt, started_at, finished_at, status, outcome, error)
      SELECT a.id, a.attempt, a.started_at, a.finished_at, a.status, a.outcome, a.error
      FROM unnest(${$.attemptCallId}::text[], ${$.attemptNumber}::int[], ${$.attemptStartedAt}::bigint[],
        ${$.attemptFinishedAt}::bigint[], ${$.attemptStatus}::text[], ${$.attemptOutcome}::text[],
        ${$.attemptError}::text[]) AS a(id, attempt, started_at, finished_at, status, outcome, error)
      WHERE a.id IN (SELECT id FROM applied)
    ), trimmed AS (
      DELETE FROM ${s}.call_attempts AS t USING (
        SELECT seq, row_number() OVER (PARTITION BY call_id ORDER BY seq DESC) AS n
        FROM ${s}.call_attempts WHERE call_id IN (SELECT id FROM applied)
      ) AS old
      WHERE t.seq = old.seq AND old.n >= ${$.historyLimit}
    )`
}
