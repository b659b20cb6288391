import type { Statement } from './namedParams.js'
import type { CappedClaimRequest } from './store.js'

/**
 * The claim of capped calls on PostgreSQL (per-key concurrency and rate limits; the rules and the
 * bounded read are SQLite's, see sqliteCappedClaim.ts), run under a transaction-scoped advisory lock
 * of the schema, so the claims of two nodes cannot both see room for the same key: the second counts
 * the first's calls as running and its starts. The groups (function, concurrency key, rate key,
 * endpoint, fairness key) are walked on calls_capped_heads by a loose index scan, as `dueQueuesSql` walks the queues (a NULL
 * fairness key comes after the others of its prefix), and each gives only its first `$2` due calls.
 * The outer conditions re-check each row against its committed version (a call cancelled meanwhile
 * is not taken). Each start of a rate-limited call is recorded in the same statement.
 */
export function claimCappedStatement(s: string, request: CappedClaimRequest): Statement {
  const turns = request.turns ?? []
  const values: unknown[] = [
    request.now,
    request.limit,
    request.owner,
    request.now + request.leaseMs,
    turns.map((t) => t.queue.endpoint),
    turns.map((t) => t.queue.function),
    turns.map((t) => t.queue.fairnessKey ?? null),
    turns.map((t) => t.offset),
    JSON.stringify(request.costs ?? {}),
  ]
  const capped = (c: string) => `${c}.concurrency_key IS NOT NULL AND ${c}.due_at IS NOT NULL`
  // A group: (function, concurrency key, rate key, endpoint), then the fairness key apart (it may be NULL).
  const rk = (c: string) => `coalesce(${c}.rate_key, '')`
  const prefix = (c: string) => `${c}.function, ${c}.concurrency_key, ${rk(c)}, ${c}.endpoint`
  const cols = `c.function, c.concurrency_key, ${rk('c')} AS rk, c.endpoint, c.fairness_key`
  const samePrefix = `c.function = p.function AND c.concurrency_key = p.concurrency_key AND ${rk('c')} = p.rk AND c.endpoint = p.endpoint`
  const head = (fairness: string) => `
          (SELECT c.id, c.function, c.endpoint, c.fairness_key, c.concurrency_key, c.due_at,
             c.concurrency_limit AS lim, c.rate_key, c.rate_limit AS rlim, p.rk
           FROM ${s}.calls AS c
           WHERE ${capped('c')} AND c.due_at <= $1 AND ${samePrefix} AND ${fairness}
           ORDER BY c.fairness_key, c.due_at LIMIT $2)`
  const text = `WITH RECURSIVE grp AS (
      (SELECT ${cols} FROM ${s}.calls AS c WHERE ${capped('c')} ORDER BY ${prefix('c')}, c.fairness_key LIMIT 1)
      UNION ALL
      SELECT n.* FROM grp AS p CROSS JOIN LATERAL (
        (SELECT ${cols} FROM ${s}.calls AS c
         WHERE ${capped('c')} AND p.fairness_key IS NOT NULL AND ${samePrefix} AND c.fairness_key > p.fairness_key
         ORDER BY c.fairness_key LIMIT 1)
        UNION ALL
        (SELECT ${cols} FROM ${s}.calls AS c
         WHERE ${capped('c')} AND p.fairness_key IS NOT NULL AND ${samePrefix} AND c.fairness_key IS NULL
         LIMIT 1)
        UNION ALL
        (SELECT ${cols} FROM ${s}.calls AS c
         WHERE ${capped('c')} AND (${prefix('c')}) > (p.function, p.concurrency_key, p.rk, p.endpoint)
         ORDER BY ${prefix('c')}, c.fairness_key LIMIT 1)
        LIMIT 1
      ) AS n
    ), heads AS (
      SELECT h.*, ROW_NUMBER() OVER (PARTITION BY h.function, h.concurrency_key, h.rk, h.endpoint, h.fairness_key
                                     ORDER BY h.due_at, h.id) AS j
      FROM grp AS p CROSS JOIN LATERAL (${head('p.fairness_key IS NOT NULL AND c.fairness_key = p.fairness_key')}
        UNION ALL ${head('p.fairness_key IS NULL AND c.fairness_key IS NULL')}
      ) AS h
    ), turns AS (
      SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::float8[]) AS t(endpoint, function, fairness_key, "offset")
    ), ranked AS (
      SELECT h.*,
        CASE WHEN h.lim IS NULL THEN 0 ELSE
          (SELECT COUNT(*) FROM ${s}.calls AS r
           WHERE r.function = h.function AND r.concurrency_key = h.concurrency_key AND r.state = 'running'
             AND r.due_at > $1) END AS busy,
        CASE WHEN h.rlim IS NULL THEN 0 ELSE
          (SELECT COUNT(*) FROM ${s}.rate_starts AS t
           WHERE t.function = h.function AND t.rate_key = h.rate_key AND t.expires_at > $1) END AS recent,
        coalesce((SELECT t."offset" FROM turns AS t WHERE t.endpoint = h.endpoint AND t.function = h.function
                    AND t.fairness_key IS NOT DISTINCT FROM h.fairness_key LIMIT 1), 0)
          + h.j * coalesce(($9::jsonb ->> h.fairness_key)::float8, 1) AS pos
      FROM heads AS h
      WHERE h.j <= $2
    ), ordered AS (
      -- A call whose key is at one of its limits takes no place in its other key's line (sqliteCappedClaim.ts).
      SELECT id, function, concurrency_key, due_at, lim, rlim, busy, recent, pos,
        ROW_NUMBER() OVER (PARTITION BY function, rate_key ORDER BY pos, due_at, id) AS rrn
      FROM ranked
      WHERE (lim IS NULL OR busy < lim) AND (rlim IS NULL OR recent < rlim)
    ), rated AS (
      -- Nor does a call its rate limit holds back in its concurrency key's line.
      SELECT id, due_at, lim, busy, pos,
        ROW_NUMBER() OVER (PARTITION BY function, concurrency_key ORDER BY pos, due_at, id) AS rn
      FROM ordered
      WHERE rlim IS NULL OR rrn + recent <= rlim
    ), claimed AS (
      UPDATE ${s}.calls AS c
      SET state = 'running', attempts = c.attempts + 1, lease_owner = $3, due_at = $4, updated_at = $1
      WHERE ${capped('c')} AND c.due_at <= $1 AND c.id IN (
        SELECT id FROM rated
        WHERE lim IS NULL OR rn + busy <= lim
        ORDER BY pos, due_at LIMIT $2
      )
      RETURNING c.*
    ), started AS (
      INSERT INTO ${s}.rate_starts (function, rate_key, expires_at)
      SELECT function, rate_key, $1::bigint + rate_period_ms FROM claimed
      WHERE rate_key IS NOT NULL AND rate_limit IS NOT NULL
    )
    SELECT * FROM claimed`
  return { text, values }
}
