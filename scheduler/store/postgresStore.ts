import { createHash, randomBytes } from 'node:crypto'
import type { AnyMessage } from 'dispatch-functions/protocol'
import { DispatchError, dspError } from 'dispatch-functions/protocol'
import { ATTEMPT_COLUMNS, type AttemptRow, toStoredAttempt } from './attemptRecord.js'
import { type CallRow, opt, toStoredCall } from './callRow.js'
import { FINISHED, LIVE, NO_POLL } from './callSql.js'
import { completeIsolating } from './completeIsolating.js'
import { CANCELLED_ERROR, type ResultRow, storedResult } from './coroutineRows.js'
import { LISTED_COLUMNS, type ListedRow, listedMessages, messageCap, toListPage } from './listPage.js'
import { claimCappedStatement } from './postgresCappedClaim.js'
import { claimQueuesStatement, claimStatement, dueQueuesSql } from './postgresClaim.js'
import { attemptStatement, completeStatement } from './postgresComplete.js'
import {
  cancelAttachedDescendants,
  cancelDescendants,
  lockDescendants,
  restart,
  suspend,
} from './postgresCoroutines.js'
import { deadlock, postgresDataError } from './postgresErrors.js'
import { insertCalls, type Notify } from './postgresInsert.js'
import { NewWorkListener } from './postgresListener.js'
import { migratePostgres } from './postgresMigrate.js'
import { connectionConfig, PostgresPool, runOn } from './postgresPool.js'
import { PostgresSchedules } from './postgresSchedules.js'
import { checkPostgresUrl, quoteSchemaName, redactPostgresUrl } from './postgresUrl.js'
import { type BacklogRow, backlogSql, toBacklog } from './queueBacklog.js'
import { storableCompletion } from './storableValues.js'
import type {
  CallCounts,
  CappedClaimRequest,
  ChangeResult,
  ClaimRequest,
  Completion,
  CountOptions,
  InsertOptions,
  InsertResult,
  LeaseExtension,
  ListFilter,
  ListPage,
  NewCall,
  QueueBacklog,
  QueueClaimRequest,
  QueueKey,
  ScheduleFiring,
  ScheduleSync,
  Store,
  StoredAttempt,
  StoredCall,
  StoredSchedule,
} from './store.js'

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; the password never appears in errors or logs. */
  readonly url: string
  /** The schema holding this installation's tables (created if missing). Default `dispatch`. */
  readonly schema?: string
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number
  /**
   * While PostgreSQL cannot be reached, opening a connection is retried with backoff for this long,
   * in ms, before an operation fails. Default 10000.
   */
  readonly connectRetryMs?: number
  /**
   * Claims take a lease this long, in ms, renewed every third of it while the attempt runs
   * (`LeaseRenewal`): a dead node's calls are taken over after about this long. Default 30000.
   */
  readonly leaseMs?: number
}

/**
 * A store shared by several scheduler nodes: PostgreSQL through a `pg` pool. Same semantics as
 * the SQLite store (the same conformance suite), with these differences for sharing:
 * claims lock rows with `FOR UPDATE SKIP LOCKED`, so nodes claiming at once take disjoint calls;
 * nothing releases other nodes' leases at start-up (`exclusive: false`), they expire; inserts and
 * redrives `NOTIFY` a channel per schema, which {@link PostgresStore.onNewWork} listens to so idle
 * nodes wake at once. Every method is one transaction, committed before it resolves.
 *
 * @example
 * ```ts
 * const store = await openPostgresStore({ url: process.env.DISPATCH_DATABASE_URL!, schema: 'dispatch' })
 * const scheduler = await startScheduler({ store })
 * ```
 */
export class PostgresStore implements Store {
  readonly exclusive = false
  /** The renewed lease of claims (see {@link PostgresStoreOptions.leaseMs}). */
  readonly renewedLeaseMs: number
  readonly schema: string
  /** Where {@link sharedSetting} keeps the shared keys, for messages. */
  readonly settingsLocation: string
  /** The URL with its password redacted, for messages. */
  readonly redactedUrl: string
  private readonly pool: PostgresPool
  private readonly s: string
  private readonly notify: Notify
  private readonly listener: NewWorkListener
  private readonly schedules: PostgresSchedules
  private closed = false

  private constructor(options: PostgresStoreOptions) {
    this.redactedUrl = redactPostgresUrl(checkPostgresUrl(options.url))
    this.schema = options.schema ?? 'dispatch'
    this.s = quoteSchemaName(this.schema)
    this.renewedLeaseMs = options.leaseMs ?? 30_000
    this.settingsLocation = `the PostgreSQL schema ${this.schema}`
    const connection = connectionConfig(options.url, this.schema)
    this.pool = new PostgresPool(connection, options.poolSize ?? 10, options.connectRetryMs ?? 10_000)
    this.notify = {
      // Channel names are identifiers of at most 63 bytes; a hash keeps any schema name within it.
      channel: `dispatch_${createHash('sha256').update(this.schema).digest('hex').slice(0, 24)}`,
      // Sent as the NOTIFY payload, so this store's listener can skip its own notifications.
      instance: randomBytes(8).toString('hex'),
    }
    this.listener = new NewWorkListener(connection, this.notify.channel, this.notify.instance)
    this.schedules = new PostgresSchedules(this.pool, this.s, this.notify)
  }

  /** Connects, applies the migrations (once, under an advisory lock) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options)
    try {
      const client = await store.pool.connect()
      try {
        await migratePostgres(client, store.schema, store.s)
      } finally {
        client.release()
      }
    } catch (cause) {
      await store.pool.close().catch(() => undefined)
      if (cause instanceof DispatchError) throw cause
      throw dspError(
        'DSP3502',
        `cannot open the PostgreSQL store at ${store.redactedUrl} (schema ${store.schema}): ${(cause as Error).message}`,
        { hint: 'check that PostgreSQL is running and the URL, user, password and database are right', cause },
      )
    }
    return store
  }

  insertCalls(calls: readonly NewCall[], options: InsertOptions): Promise<InsertResult[]> {
    return insertCalls(this.pool, this.s, this.notify, calls, options)
  }

  async claimCapped(request: CappedClaimRequest): Promise<StoredCall[]> {
    // One probe of the capped calls' index first: without a due capped call (a deployment whose
    // functions declare no limit) no transaction is opened and no lock taken.
    const due = await this.pool.read(
      `SELECT 1 FROM ${this.s}.calls WHERE concurrency_key IS NOT NULL AND due_at IS NOT NULL AND due_at <= $1 LIMIT 1`,
      [request.now],
    )
    if (due.rows.length === 0) return []
    const claim = claimCappedStatement(this.s, request)
    const rows = await this.pool.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `dispatch-functions:capped:${this.s}`,
      ])
      await client.query(`DELETE FROM ${this.s}.rate_starts WHERE expires_at <= $1`, [request.now])
      return (await client.query<CallRow>(claim.text, claim.values)).rows
    })
    return this.withResults(rows)
  }

  async nextRateOpening(now: number): Promise<number | undefined> {
    const { rows } = await this.pool.read(
      `SELECT MIN(expires_at) AS at FROM ${this.s}.rate_starts WHERE expires_at > $1`,
      [now],
    )
    const at = (rows[0] as { at: string | number | null } | undefined)?.at
    return at == null ? undefined : Number(at)
  }

  async claimCalls(request: ClaimRequest): Promise<StoredCall[]> {
    const claim = claimStatement(this.s, request)
    const { rows } = await this.pool.query<CallRow>(claim.text, claim.values)
    return this.withResults(rows)
  }

  /**
   * Claimed rows as calls; a resumed coroutine comes with up to `maxResults` waiting results,
   * oldest first. Read after the claim committed: only this lease's outcome consumes them, so the
   * results cannot change under it but by growing (a cancel or restart makes the outcome stale anyway).
   */
  private async withResults(rows: readonly CallRow[]): Promise<StoredCall[]> {
    const calls = rows.map(toStoredCall)
    const resumed = rows.filter((r) => r.poll_state !== null && r.results_waiting > 0)
    if (resumed.length === 0) return calls
    const { rows: results } = await this.pool.read<ResultRow>(
      `SELECT r.* FROM unnest($1::text[], $2::int[], $3::int[]) AS p(id, epoch, lim)
       CROSS JOIN LATERAL (
         SELECT * FROM ${this.s}.call_results AS r WHERE r.parent_id = p.id AND r.epoch = p.epoch ORDER BY r.seq LIMIT p.lim
       ) AS r
       ORDER BY r.seq`,
      [resumed.map((r) => r.id), resumed.map((r) => r.epoch), resumed.map((r) => r.max_results ?? 1000)],
    )
    const byParent = new Map<string, ReturnType<typeof storedResult>[]>()
    for (const row of results) {
      const list = byParent.get(row.parent_id) ?? []
      list.push(storedResult(row))
      byParent.set(row.parent_id, list)
    }
    return calls.map((call) => {
      const list = byParent.get(call.dispatchId)
      return list === undefined ? call : { ...call, results: list }
    })
  }

  async dueQueues(now: number, limit: number): Promise<QueueKey[]> {
    const { rows } = await this.pool.read<{ endpoint: string; function: string; fairness_key: string | null }>(
      dueQueuesSql(this.s),
      [now, limit],
    )
    return rows.map((r) => ({ endpoint: r.endpoint, function: r.function, fairnessKey: opt(r.fairness_key) }))
  }

  async queueBacklog(now: number, limit: number): Promise<QueueBacklog[]> {
    const { rows } = await this.pool.read<BacklogRow>(backlogSql(`${this.s}.calls`, '$1', '$2'), [now, limit])
    return rows.map(toBacklog)
  }

  async claimQueues(request: QueueClaimRequest): Promise<StoredCall[]> {
    if (!request.queues.some((q) => q.limit > 0)) return []
    const claim = claimQueuesStatement(this.s, request)
    const { rows } = await this.pool.query<CallRow>(claim.text, claim.values)
    return this.withResults(rows)
  }

  async completeAttempts(given: readonly Completion[]): Promise<boolean[]> {
    if (given.length === 0) return []
    const completions = given.map(storableCompletion)
    const ids = new Set(completions.map((c) => c.dispatchId))
    const inOrder = (batch: readonly Completion[]) =>
      completeIsolating(batch, (part) => this.completeInOrder(part), postgresDataError)
    if (ids.size < completions.length) return inOrder(completions)
    // Distinct calls do not interact: one statement applies them all, whatever their order. Except
    // a child whose parent is in the batch too (one statement may not update a row twice): the
    // statement skips it, and it is applied below, after its parent, with the Polls and restarts.
    // A coroutine's exit cancels the tree below it: applied in order too, its descendants locked first.
    const plain = completions.filter((c) => c.kind !== 'poll' && c.kind !== 'restart' && c.coroutine !== true)
    const inPlain = new Set(plain)
    const results = completions.map(() => false)
    if (plain.length > 0) {
      const applied = await completeIsolating(
        plain,
        async (part) => {
          const complete = completeStatement(this.s, part, [...ids])
          const { rows } = await this.pool.retried(() => this.pool.run<{ id: string }>(complete), deadlock)
          const done = new Set(rows.map((r) => r.id))
          return part.map((c) => done.has(c.dispatchId))
        },
        postgresDataError,
      )
      plain.forEach((c, i) => {
        results[completions.indexOf(c)] = applied[i]!
      })
    }
    const rest = completions.filter(
      // A plain retry or tail call was not skipped, only stale.
      (c, i) => !results[i] && (!inPlain.has(c) || (c.kind !== 'retry' && c.kind !== 'tailCall')),
    )
    if (rest.length === 0) return results
    const again = await inOrder(rest)
    rest.forEach((c, i) => {
      if (again[i]) results[completions.indexOf(c)] = true
    })
    return results
  }

  /**
   * Applies completions one by one in one transaction, each seeing the previous one's effect: the
   * same call twice in a batch, and a coroutine's Polls and restarts (several statements each, plus
   * their attempt history entries).
   */
  private completeInOrder(completions: readonly Completion[]): Promise<boolean[]> {
    return this.pool.retried(
      () =>
        this.pool.transaction(async (client) => {
          const results: boolean[] = []
          for (const completion of completions) {
            if (completion.kind === 'poll' || completion.kind === 'restart') {
              const applied =
                completion.kind === 'poll'
                  ? await suspend(client, this.s, this.notify, completion)
                  : await restart(client, this.s, completion)
              if (applied) {
                const attempt = attemptStatement(this.s, completion)
                await client.query(attempt.text, attempt.values)
              }
              results.push(applied)
            } else {
              if (completion.coroutine === true) await lockDescendants(client, this.s, completion.dispatchId)
              const complete = completeStatement(this.s, [completion], [])
              const applied = (await runOn(client, complete)).rows.length === 1
              if (applied && completion.coroutine === true) {
                await cancelAttachedDescendants(client, this.s, completion.dispatchId, completion.now)
              }
              results.push(applied)
            }
          }
          return results
        }),
      deadlock,
    )
  }

  async listAttempts(dispatchId: string): Promise<StoredAttempt[]> {
    const { rows } = await this.pool.read<AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM ${this.s}.call_attempts WHERE call_id = $1 ORDER BY seq`,
      [dispatchId],
    )
    return rows.map(toStoredAttempt)
  }

  /** Extends the leases of attempts this owner still holds (same attempt, still running). */
  async renewLeases(owner: string, leases: readonly LeaseExtension[]): Promise<number> {
    if (leases.length === 0) return 0
    // SKIP LOCKED: a row locked now is being completed (or taken over): renewing it would wait, and
    // waiting for a multi-row completion that locks in another order deadlocked. A skipped lease is
    // renewed at the next renewal, two more before it expires.
    const result = await this.pool.read(
      `WITH held AS (
        SELECT c.id, u.until FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(id, attempt, until)
        JOIN ${this.s}.calls AS c ON c.id = u.id AND c.state = 'running' AND c.attempts = u.attempt AND c.lease_owner = $1
        FOR UPDATE OF c SKIP LOCKED
      )
      UPDATE ${this.s}.calls AS c SET due_at = held.until FROM held WHERE c.id = held.id`,
      [owner, leases.map((l) => l.dispatchId), leases.map((l) => l.attempt), leases.map((l) => l.until)],
    )
    return result.rowCount ?? 0
  }

  async getCall(dispatchId: string): Promise<StoredCall | undefined> {
    const { rows } = await this.pool.read<CallRow>(`SELECT * FROM ${this.s}.calls WHERE id = $1`, [dispatchId])
    return rows[0] === undefined ? undefined : toStoredCall(rows[0])
  }

  async getCalls(dispatchIds: readonly string[]): Promise<StoredCall[]> {
    if (dispatchIds.length === 0) return []
    const { rows } = await this.pool.read<CallRow>(`SELECT * FROM ${this.s}.calls WHERE id = ANY($1::text[])`, [
      [...dispatchIds],
    ])
    return rows.map(toStoredCall)
  }

  async dueQueuesOf(dispatchIds: readonly string[], now: number): Promise<QueueKey[]> {
    if (dispatchIds.length === 0) return []
    const { rows } = await this.pool.read<{ endpoint: string; function: string; fairness_key: string | null }>(
      `SELECT DISTINCT endpoint, function, fairness_key FROM ${this.s}.calls
       WHERE id = ANY($1::text[]) AND state = 'suspended' AND due_at <= $2`,
      [[...dispatchIds], now],
    )
    return rows.map((r) => ({ endpoint: r.endpoint, function: r.function, fairnessKey: opt(r.fairness_key) }))
  }

  async listCalls(filter: ListFilter): Promise<ListPage> {
    const where: string[] = []
    const params: unknown[] = []
    const add = (sql: string, value: unknown) => {
      params.push(value)
      where.push(sql.replace('?', `$${params.length}`))
    }
    if (filter.state !== undefined) add('state = ?', filter.state)
    if (filter.function !== undefined) add('function = ?', filter.function)
    if (filter.fairnessKey !== undefined) add('fairness_key = ?', filter.fairnessKey)
    if (filter.parentDispatchId !== undefined) add('parent_id = ?', filter.parentDispatchId)
    if (filter.endpoint !== undefined) add('endpoint = ?', filter.endpoint)
    if (filter.createdFrom !== undefined) add('created_at >= ?', filter.createdFrom)
    if (filter.createdBefore !== undefined) add('created_at < ?', filter.createdBefore)
    if (filter.search !== undefined) {
      params.push(filter.search)
      where.push(`(id = $${params.length} OR idempotency_key = $${params.length})`)
    }
    if (filter.after !== undefined) add('id < ?', filter.after)
    params.push(filter.limit + 1, messageCap(filter))
    const { rows } = await this.pool.read<ListedRow>(
      `SELECT ${LISTED_COLUMNS}, ${listedMessages(`$${params.length}::bigint`)}
       FROM ${this.s}.calls ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id DESC LIMIT $${params.length - 1}`,
      params,
    )
    return toListPage(rows, filter)
  }

  async cancelCall(dispatchId: string, now: number): Promise<ChangeResult> {
    const row = await this.pool.transaction(async (client) => {
      await lockDescendants(client, this.s, dispatchId)
      const { rows } = await client.query<CallRow>(
        `UPDATE ${this.s}.calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = $2, ${NO_POLL}
         WHERE id = $1 AND state IN ${LIVE}
         RETURNING *`,
        [dispatchId, now],
      )
      const cancelled = rows[0]
      if (cancelled === undefined) return undefined
      // The tree below goes with it, and a child tells its parent it was cancelled.
      await cancelDescendants(client, this.s, dispatchId, now)
      if (cancelled.parent_id !== null && cancelled.parent_epoch !== null) {
        await client.query(
          `WITH woken AS (
            UPDATE ${this.s}.calls AS p
            SET results_waiting = p.results_waiting + 1,
              due_at = CASE WHEN p.state = 'suspended' AND p.results_waiting + 1 >= p.min_results
                AND (p.due_at IS NULL OR p.due_at > $5) THEN $5 ELSE p.due_at END
            WHERE p.id = $1 AND p.epoch = $2 AND p.state IN ${LIVE}
            RETURNING p.id
          )
          INSERT INTO ${this.s}.call_results (parent_id, epoch, child_id, correlation_id, output, error, created_at)
          SELECT $1, $2, $3, $4, NULL, $6, $5 FROM woken`,
          [
            cancelled.parent_id,
            cancelled.parent_epoch,
            cancelled.id,
            cancelled.correlation_id,
            now,
            JSON.stringify(CANCELLED_ERROR),
          ],
        )
      }
      return cancelled
    })
    return this.changeResult(dispatchId, row)
  }

  async redriveCall(dispatchId: string, now: number): Promise<ChangeResult> {
    const { rows } = await this.pool.query<CallRow>(
      `WITH redriven AS (
        UPDATE ${this.s}.calls SET state = 'pending', status = NULL, attempts = 0, output = NULL, error = NULL,
          function = COALESCE(origin_function, function), endpoint = COALESCE(origin_endpoint, endpoint),
          input = CASE WHEN origin_function IS NULL THEN input ELSE origin_input END,
          origin_function = NULL, origin_endpoint = NULL, origin_input = NULL,
          expires_at = CASE WHEN expiration_ms IS NULL THEN NULL ELSE $2 + expiration_ms END,
          due_at = $2, lease_owner = NULL, updated_at = $2,
          ${NO_POLL}, epoch = epoch + 1, restarts = 0, parent_epoch = NULL
        WHERE id = $1 AND state IN ('failed', 'cancelled')
        RETURNING *
      ), dropped AS (
        DELETE FROM ${this.s}.call_results WHERE parent_id IN (SELECT id FROM redriven)
      )
      SELECT redriven.*, pg_notify($3, $4) FROM redriven`,
      [dispatchId, now, this.notify.channel, this.notify.instance],
    )
    return this.changeResult(dispatchId, rows[0])
  }

  async signalCall(dispatchId: string, signal: AnyMessage, now: number): Promise<ChangeResult> {
    // One statement: the count, the due time and the result row change together; other nodes are
    // told, as the call may now be due.
    const { rows } = await this.pool.query<CallRow>(
      `WITH woken AS (
        UPDATE ${this.s}.calls AS p
        SET results_waiting = p.results_waiting + 1,
          due_at = CASE WHEN p.state = 'suspended' AND p.results_waiting + 1 >= p.min_results
            AND (p.due_at IS NULL OR p.due_at > $2) THEN $2 ELSE p.due_at END
        WHERE p.id = $1 AND p.state IN ${LIVE}
        RETURNING p.*
      ), queued AS (
        INSERT INTO ${this.s}.call_results (parent_id, epoch, child_id, correlation_id, output, error, created_at)
        SELECT id, epoch, '', NULL, $3, NULL, $2 FROM woken
      )
      SELECT woken.*, pg_notify($4, $5) FROM woken`,
      [dispatchId, now, JSON.stringify(signal), this.notify.channel, this.notify.instance],
    )
    return this.changeResult(dispatchId, rows[0])
  }

  private async changeResult(dispatchId: string, row: CallRow | undefined): Promise<ChangeResult> {
    if (row !== undefined) return { kind: 'changed', call: toStoredCall(row) }
    const call = await this.getCall(dispatchId)
    return call === undefined ? { kind: 'notFound' } : { kind: 'refused', call }
  }

  async releaseLeases(now: number, owner?: string): Promise<number> {
    // Released calls are due now: tell the other nodes, which may be idle.
    const { rows } = await this.pool.read<{ released: number }>(
      `WITH released AS (
        UPDATE ${this.s}.calls SET state = 'pending', due_at = $1, lease_owner = NULL, updated_at = $1
        WHERE state = 'running' AND ($3::text IS NULL OR lease_owner = $3)
        RETURNING 1
      )
      SELECT (SELECT COUNT(*) FROM released) AS released, pg_notify($2, $4)`,
      [now, this.notify.channel, owner ?? null, this.notify.instance],
    )
    return rows[0]?.released ?? 0
  }

  async nextDueAt(): Promise<number | undefined> {
    const { rows } = await this.pool.read<{ due: number | null }>(
      `SELECT MIN(due_at) AS due FROM ${this.s}.calls WHERE due_at IS NOT NULL`,
    )
    return opt(rows[0]?.due ?? null)
  }

  async countCalls(options: CountOptions = {}): Promise<CallCounts[]> {
    const unfinished = options.unfinishedOnly === true ? "WHERE state IN ('pending', 'running', 'suspended')" : ''
    const { rows } = await this.pool.read<CallCounts>(
      `SELECT function, state, COUNT(*) AS count,
         SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END)::int AS retrying
       FROM ${this.s}.calls ${unfinished} GROUP BY function, state ORDER BY function COLLATE "C", state COLLATE "C"`,
    )
    return rows.map((r) => ({ function: r.function, state: r.state, count: r.count, retrying: r.retrying }))
  }

  async purgeIdempotencyKeys(before: number): Promise<number> {
    const result = await this.pool.read(`DELETE FROM ${this.s}.idempotency_keys WHERE created_at < $1`, [before])
    return result.rowCount ?? 0
  }

  /**
   * Nodes purging together take disjoint rows (`SKIP LOCKED`), and the delete checks the state and
   * time again on each locked row, so a call redriven meanwhile is kept. The pick is a materialized
   * CTE: as an `IN` subquery, PostgreSQL may run it again per row and so ignore its LIMIT. A call's
   * waiting results and attempt history go with it.
   */
  async purgeFinishedCalls(before: number, limit: number): Promise<number> {
    if (limit <= 0) return 0
    // BIGINT parameters: a fractional instant (a retention of 1.5 ms) would not parse.
    const cutoff = Math.ceil(before)
    const { rows } = await this.pool.query<{ deleted: number }>(
      `WITH picked AS MATERIALIZED (
        SELECT c.id FROM ${this.s}.calls AS c
        WHERE c.state IN ${FINISHED} AND c.updated_at < $1
          AND NOT EXISTS (SELECT 1 FROM ${this.s}.calls AS p WHERE p.id = c.parent_id AND p.state IN ${LIVE})
          AND NOT EXISTS (SELECT 1 FROM ${this.s}.calls AS r WHERE r.id = c.root_id AND r.state IN ${LIVE})
        ORDER BY c.updated_at LIMIT $2
        FOR UPDATE SKIP LOCKED
      ), doomed AS (
        DELETE FROM ${this.s}.calls WHERE id IN (SELECT id FROM picked) AND state IN ${FINISHED} AND updated_at < $1
        RETURNING id
      ), results AS (
        DELETE FROM ${this.s}.call_results WHERE parent_id IN (SELECT id FROM doomed) RETURNING 1
      ), history AS (
        DELETE FROM ${this.s}.call_attempts WHERE call_id IN (SELECT id FROM doomed)
      )
      SELECT COUNT(*)::int AS deleted FROM doomed`,
      [cutoff, Math.floor(limit)],
    )
    return rows[0]?.deleted ?? 0
  }

  /**
   * A value every node of this installation shares (the API key, the signing key): read it, or
   * store `make()` if nobody has yet. Two nodes starting together agree on the first one stored.
   */
  async sharedSetting(name: string, make: () => string): Promise<string> {
    const { rows } = await this.pool.read<{ value: string }>(
      `WITH put AS (
        INSERT INTO ${this.s}.settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
      )
      SELECT value FROM put UNION ALL SELECT value FROM ${this.s}.settings WHERE name = $1`,
      [name, make()],
    )
    if (rows[0] !== undefined) return rows[0].value
    // A concurrent first insert committed after this statement's snapshot: read it now.
    const again = await this.pool.read<{ value: string }>(`SELECT value FROM ${this.s}.settings WHERE name = $1`, [
      name,
    ])
    if (again.rows[0] === undefined) throw new Error(`the shared setting ${name} could not be stored`)
    return again.rows[0].value
  }

  /**
   * Calls `listener` whenever any node inserts, redrives or releases calls in this schema
   * (LISTEN/NOTIFY on a dedicated connection, re-established with backoff when it drops), so an
   * idle node claims at once instead of at its next poll. Returns a function that stops listening.
   */
  onNewWork(listener: () => void): () => void {
    return this.listener.add(listener)
  }

  // Schedules (docs/flow-control.md): see PostgresSchedules for how a tick fires once across nodes.
  syncSchedules(schedules: readonly ScheduleSync[], now: number): Promise<void> {
    return this.schedules.sync(schedules, now)
  }

  listSchedules(): Promise<StoredSchedule[]> {
    return this.schedules.list()
  }

  fireSchedule(tick: ScheduleFiring, now: number): Promise<boolean> {
    return this.schedules.fire(tick, now)
  }

  setSchedulePaused(
    name: string,
    paused: boolean,
    nextTickAt: number | undefined,
    now: number,
  ): Promise<StoredSchedule | undefined> {
    return this.schedules.setPaused(name, paused, nextTickAt, now)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.listener.close()
    await this.pool.close()
  }

  /** Drops this store's schema and everything in it (tests, and tearing down an installation). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.s} CASCADE`)
  }
}

/** Opens the PostgreSQL store: connects, migrates the schema (default `dispatch`) and returns it. */
export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options)
}
