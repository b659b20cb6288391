import { CALL_ROW_SQL } from './callRowValues.js'

/**
 * The claim of capped calls on SQLite (per-key concurrency and rate limits, docs/flow-control.md),
 * one statement run with the starts it records in one transaction.
 *
 * What it reads is bounded: the groups (function, concurrency key, rate key, endpoint, fairness key)
 * with unfinished capped calls are walked on calls_capped_heads one index seek each (a loose index scan: `grp` holds the
 * rowid of each group's first row), and of each group only the first `@limit` due calls are read. A
 * call further back in its group cannot be taken by this claim: those before it rank before it for
 * its key's limit and for the claim's `@limit` alike. So a backlog of any size costs the claim at
 * most `@limit` rows per group. (A call without a rate limit and one with the function-wide rate key
 * '' share a group: the same function with and without a rate limit, across a change of config.)
 *
 * Fairness among the queues waiting on one key: the j-th waiting call of a queue ranks at
 * `offset + j * cost` (`@turns`: the offsets the caller keeps from earlier claims, as JSON
 * `[[endpoint, function, fairness key, offset], ...]`; `@costs`: `{fairness key: cost}`), ties by due
 * time, so the queues take turns (see `CappedClaimRequest`).
 *
 * Then, per (function, key) in that order, a call is taken while the running ones (a lease that
 * expired not counting) and those before it in this claim stay within its concurrency limit, and
 * per (function, rate key) while the starts within its period and those before it stay within its
 * rate limit. A call whose key is at one of its limits (all its slots running, or its period's starts
 * used) takes no place in the line of its other key, nor does a call its rate limit holds back in
 * its concurrency key's: the calls of other keys behind it would wait for room that is free, as long
 * as a whole period or a long attempt. (A call the concurrency limit holds back while its key has
 * some room keeps its place in its rate key's line, next in line for it: the claim then takes
 * fewer, never more.)

 */
const capped = (c: string) => `${c}.concurrency_key IS NOT NULL AND ${c}.due_at IS NOT NULL`
/** A group: (function, concurrency key, rate key, endpoint), then the fairness key apart (it may be NULL). */
const rk = (c: string) => `ifnull(${c}.rate_key, '')`
const prefix = (c: string) => `${c}.function, ${c}.concurrency_key, ${rk(c)}, ${c}.endpoint`
const samePrefix = (c: string, p: string) =>
  `${c}.function = ${p}.function AND ${c}.concurrency_key = ${p}.concurrency_key AND ${rk(c)} = ${rk(p)} AND ${c}.endpoint = ${p}.endpoint`

/**
 * The first row of the next prefix in the index order: one seek per column of the prefix, from the
 * last (a row value `(a, b, c) > (...)` would be a range on `a` alone, reading the rest of its group).
 */
const nextPrefix = (() => {
  const columns = ['n.function', 'n.concurrency_key', rk('n'), 'n.endpoint']
  const of = ['p.function', 'p.concurrency_key', rk('p'), 'p.endpoint']
  const seeks = columns.map((_, k) => {
    const equal = columns.slice(0, k).map((c, i) => `${c} = ${of[i]} AND `)
    return `(SELECT n.rowid FROM calls AS n INDEXED BY calls_capped_heads
           WHERE ${capped('n')} AND ${equal.join('')}${columns[k]} > ${of[k]}
           ORDER BY ${prefix('n')}, n.fairness_key LIMIT 1)`
  })
  return seeks.reverse().join(',\n        ')
})()

export const SQLITE_CLAIM_CAPPED = `
  UPDATE calls SET state = 'running', attempts = attempts + 1, lease_owner = @owner, due_at = @until, updated_at = @now
  WHERE id IN (
    WITH RECURSIVE grp(r) AS (
      SELECT (SELECT c.rowid FROM calls AS c INDEXED BY calls_capped_heads WHERE ${capped('c')}
              ORDER BY ${prefix('c')}, c.fairness_key LIMIT 1)
      UNION ALL
      SELECT coalesce(
        CASE WHEN p.fairness_key IS NULL THEN
          (SELECT n.rowid FROM calls AS n INDEXED BY calls_capped_heads
           WHERE ${capped('n')} AND ${samePrefix('n', 'p')} AND n.fairness_key IS NOT NULL
           ORDER BY n.fairness_key LIMIT 1)
        ELSE
          (SELECT n.rowid FROM calls AS n INDEXED BY calls_capped_heads
           WHERE ${capped('n')} AND ${samePrefix('n', 'p')} AND n.fairness_key > p.fairness_key
           ORDER BY n.fairness_key LIMIT 1)
        END,
        ${nextPrefix})
      FROM grp JOIN calls AS p ON p.rowid = grp.r
    ),
    heads AS (
      SELECT c.id, c.function, c.endpoint, c.fairness_key, c.concurrency_key, c.due_at,
        c.concurrency_limit AS lim, c.rate_key, c.rate_limit AS rlim,
        ROW_NUMBER() OVER (PARTITION BY ${prefix('c')}, c.fairness_key ORDER BY c.due_at, c.id) AS j
      FROM grp JOIN calls AS p ON p.rowid = grp.r
      JOIN calls AS c ON c.rowid IN (
        SELECT x.rowid FROM calls AS x INDEXED BY calls_capped_heads
        WHERE ${capped('x')} AND ${samePrefix('x', 'p')} AND x.fairness_key IS p.fairness_key AND x.due_at <= @now
        ORDER BY x.due_at LIMIT @limit)
    ),
    turns AS (
      SELECT json_extract(value, '$[0]') AS endpoint, json_extract(value, '$[1]') AS function,
        json_extract(value, '$[2]') AS fairness_key, json_extract(value, '$[3]') AS offset
      FROM json_each(@turns)
    ),
    ranked AS (
      SELECT h.*,
        CASE WHEN h.lim IS NULL THEN 0 ELSE
          (SELECT COUNT(*) FROM calls AS r INDEXED BY calls_capped_running
           WHERE r.function = h.function AND r.concurrency_key = h.concurrency_key AND r.state = 'running'
             AND r.due_at > @now) END AS busy,
        CASE WHEN h.rlim IS NULL THEN 0 ELSE
          (SELECT COUNT(*) FROM rate_starts AS t
           WHERE t.function = h.function AND t.rate_key = h.rate_key AND t.expires_at > @now) END AS recent,
        ifnull((SELECT t.offset FROM turns AS t WHERE t.endpoint = h.endpoint AND t.function = h.function
                  AND t.fairness_key IS h.fairness_key), 0)
          + h.j * ifnull((SELECT w.value FROM json_each(@costs) AS w WHERE w.key = h.fairness_key), 1) AS pos
      FROM heads AS h
      WHERE h.j <= @limit
    ),
    ordered AS (
      SELECT id, function, concurrency_key, due_at, pos, lim, rlim, busy, recent,
        ROW_NUMBER() OVER (PARTITION BY function, rate_key ORDER BY pos, due_at, id) AS rrn
      FROM ranked
      WHERE (lim IS NULL OR busy < lim) AND (rlim IS NULL OR recent < rlim)
    ),
    rated AS (
      SELECT id, due_at, pos, lim, busy,
        ROW_NUMBER() OVER (PARTITION BY function, concurrency_key ORDER BY pos, due_at, id) AS rn
      FROM ordered
      WHERE rlim IS NULL OR rrn + recent <= rlim
    )
    SELECT id FROM rated
    WHERE lim IS NULL OR rn + busy <= lim
    ORDER BY pos, due_at LIMIT @limit
  )
  RETURNING ${CALL_ROW_SQL}`
