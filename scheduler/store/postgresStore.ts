import { createHash, randomBytes } from 'node:crypto'
import { DispatchError } from 'dispatch-functions/internal'
import type { ErrorMessage, Status } from 'dispatch-functions/protocol'
import pg from 'pg'
import { attemptRecord } from './attemptRecord.js'
import { type CallRow, opt, toStoredCall } from './callRow.js'
import { completeIsolating } from './completeIsolating.js'
import { CANCELLED_ERROR, pollStateJson, type ResultRow, storedResult, suspendedDueAt } from './coroutineRows.js'
import { IdempotencyConflict, inputDigest } from './idempotencyConflict.js'
import { LISTED_COLUMNS, type ListedRow, listedMessages, messageCap, toListPage } from './listPage.js'
import { migratePostgres } from './postgresMigrate.js'
import { checkPostgresUrl, quoteSchemaName, redactPostgresUrl } from './postgresUrl.js'
import { storableCall, storableCompletion } from './storableValues.js'
import {
  ATTEMPT_HISTORY_LIMIT,
  type CallCounts,
  type ChangeResult,
  type ClaimRequest,
  type Completion,
  type InsertOptions,
  type InsertResult,
  type LeaseExtension,
  type ListFilter,
  type ListPage,
  type NewCall,
  type QueueClaimRequest,
  type QueueKey,
  type Store,
  type StoredAttempt,
  type StoredCall,
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

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value))
const nul = <T>(value: T | undefined): T | null => (value === undefined ? null : value)

/** The columns a call's coroutine state lives in, cleared when it exits, restarts or is redriven. */
const NO_POLL =
  'poll_state = NULL, min_results = NULL, max_results = NULL, poll_deadline = NULL, poll_error = NULL, results_waiting = 0'
const LIVE = "('pending', 'running', 'suspended')"
const FINISHED = "('succeeded', 'failed', 'cancelled')"
type Of<K extends Completion['kind']> = Extract<Completion, { kind: K }>
/** A deadlock between a child reporting to its parent and a cascade over the same tree: PostgreSQL aborts one; run it again. */
const deadlock = (error: unknown): boolean => (error as { code?: string }).code === '40P01'

// BIGINT (epoch ms) and COUNT come back as numbers, not strings: every value we store fits in 2^53.
const INT8_OID = 20
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
}

/**
 * Errors a value of the batch caused: SQLSTATE classes 22 (data exception: a NUL in text, a number out
 * of range), 23 (a constraint) and 54 (a limit: an index entry too large), or a value the driver could
 * not send. A lost connection or an overloaded server is not one: the batch is retried whole.
 */
function postgresDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return /^(22|23|54)/.test(code)
  return error instanceof TypeError || error instanceof RangeError
}

/** Connection failures worth waiting out (server starting, restarting, or briefly unreachable). */
function transientConnectError(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE' ||
    code === '57P03' || // cannot_connect_now: starting up or shutting down
    code === '57P01' || // admin_shutdown (a restart, or pg_terminate_backend)
    code === '57P02' || // crash_shutdown
    code?.startsWith('08') === true || // connection_exception
    code === '53300' || // too_many_connections
    /Connection terminated|timeout exceeded when trying to connect/i.test((error as Error).message ?? '')
  )
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
  private readonly pool: pg.Pool
  private readonly connection: pg.ClientConfig
  private readonly s: string
  private readonly channel: string
  /** Sent as the NOTIFY payload, so this store's listener can skip its own notifications. */
  private readonly instance = randomBytes(8).toString('hex')
  private readonly connectRetryMs: number
  private listener: pg.Client | undefined
  private listenRetry: NodeJS.Timeout | undefined
  private readonly wakeListeners = new Set<() => void>()
  private readonly guarded = new WeakSet<pg.PoolClient>()
  private closed = false

  private constructor(options: PostgresStoreOptions) {
    this.redactedUrl = redactPostgresUrl(checkPostgresUrl(options.url))
    this.schema = options.schema ?? 'dispatch'
    this.s = quoteSchemaName(this.schema)
    // Channel names are identifiers of at most 63 bytes; a hash keeps any schema name within it.
    this.channel = `dispatch_${createHash('sha256').update(this.schema).digest('hex').slice(0, 24)}`
    this.connectRetryMs = options.connectRetryMs ?? 10_000
    this.renewedLeaseMs = options.leaseMs ?? 30_000
    this.settingsLocation = `the PostgreSQL schema ${this.schema}`
    this.connection = {
      connectionString: options.url,
      types,
      // Names the installation in pg_stat_activity (and lets tests cut exactly these connections).
      application_name: `dispatch:${this.schema}`.slice(0, 63),
      // A server that vanished without closing the socket (a partition) is noticed by TCP
      // keep-alive, and a connection attempt gives up after 5 s (then retried with backoff).
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    }
    this.pool = new pg.Pool({ ...this.connection, max: options.poolSize ?? 10 })
    // An idle connection the server closed (a restart) is dropped by the pool; without a
    // listener, the 'error' event would crash the process.
    this.pool.on('error', () => undefined)
    // A kill that lands as a connection is made can arrive in the same read as its ready-for-query:
    // pg then emits 'error' after the pool dropped its listener and before connect() resolves (found
    // by test/faults/postgres.faults.test.ts). Guard every connection as soon as it exists.
    this.pool.on('connect', (client) => client.on('error', () => undefined))
  }

  /** Connects, applies the migrations (once, under an advisory lock) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options)
    try {
      const client = await store.connect()
      try {
        await migratePostgres(client, store.schema, store.s)
      } finally {
        client.release()
      }
    } catch (cause) {
      await store.pool.end().catch(() => undefined)
      if (cause instanceof DispatchError) throw cause
      throw new DispatchError(
        'DSP3502',
        `cannot open the PostgreSQL store at ${store.redactedUrl} (schema ${store.schema}): ${(cause as Error).message}`,
        { hint: 'check that PostgreSQL is running and the URL, user, password and database are right', cause },
      )
    }
    return store
  }

  /** A pooled connection; while PostgreSQL is unreachable, retried with backoff up to `connectRetryMs`. */
  private async connect(): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.connectRetryMs
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        const client = await this.pool.connect()
        if (!this.guarded.has(client)) {
          // The pool guards idle connections only: one the server drops while checked out would
          // otherwise emit an unhandled 'error' and crash the node. Its next query fails instead.
          this.guarded.add(client)
          client.on('error', () => undefined)
        }
        return client
      } catch (error) {
        if (this.closed || !transientConnectError(error) || Date.now() + delay > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /** Runs `work` on one connection; a connection that failed is discarded, not returned to the pool. */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect()
    let failed: Error | undefined
    try {
      return await work(client)
    } catch (error) {
      failed = error as Error
      throw error
    } finally {
      client.release(failed !== undefined && transientConnectError(failed) ? failed : undefined)
    }
  }

  private query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.withClient((client) => client.query<R>(sql, params))
  }

  /**
   * Runs `work` again when the connection was lost under it (PostgreSQL restarting), with backoff,
   * for up to `connectRetryMs`. Only for work that may safely run twice: reads, and writes that are
   * conditional or idempotent (completions apply only while the claim holds, releases and purges
   * converge). Inserts, claims, cancels and redrives are not retried here: their callers see the
   * error (a Dispatch answered 500 is not acknowledged; the client sends it again with its keys).
   */
  private async retried<T>(work: () => Promise<T>, also: (error: unknown) => boolean = () => false): Promise<T> {
    const deadline = Date.now() + this.connectRetryMs
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await work()
      } catch (error) {
        if (this.closed || !(transientConnectError(error) || also(error)) || Date.now() + delay > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /** {@link query}, run again after a lost connection (see {@link retried}). */
  private read<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.retried(() => this.query<R>(sql, params))
  }

  /** Runs `work` in one transaction on one connection. */
  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN')
      try {
        const result = await work(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  async insertCalls(given: readonly NewCall[], options: InsertOptions): Promise<InsertResult[]> {
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
    if (firstWithKey.size === 0) {
      // No keys: one statement, so one round trip and an implicit transaction.
      await this.query(this.insertSql(), this.insertParams(calls))
      return calls.map((call) => ({ dispatchId: call.dispatchId, inserted: true }))
    }
    const since = options.now - options.idempotencyWindowMs
    // Keys in a fixed order, so two batches sharing keys lock them in the same order (no deadlock).
    const scopes = [...firstWithKey.keys()].sort()
    const firsts = scopes.map((scope) => firstWithKey.get(scope)!)
    return this.transaction(async (client) => {
      // A key is ours when it is new or was recorded before the window; a concurrent batch with the
      // same key makes this wait for that batch's outcome (the unique index), then see its row.
      const won = await client.query<{ key: string; function: string; endpoint: string }>(
        `INSERT INTO ${this.s}.idempotency_keys AS k (key, function, endpoint, dispatch_id, input_hash, created_at)
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
          `SELECT k.key, k.function, k.endpoint, k.dispatch_id, k.input_hash FROM ${this.s}.idempotency_keys AS k
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
      if (fresh.length > 0) await client.query(this.insertSql(), this.insertParams(fresh))
      return results
    })
  }

  /** A multi-row insert from parallel arrays (one statement whatever the batch size), and a NOTIFY. */
  private insertSql(): string {
    return `WITH inserted AS (
      INSERT INTO ${this.s}.calls (id, function, endpoint, input, version, correlation_id, state, max_attempts,
        created_at, updated_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
        parent_epoch)
      SELECT id, function, endpoint, input, version, correlation_id, 'pending', max_attempts,
        created_at, created_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id,
        $18::int
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[],
        $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[])
        AS u(id, function, endpoint, input, version, correlation_id, max_attempts, created_at, due_at, expires_at,
          expiration_ms, fairness_key, idempotency_key, parent_id, root_id)
      RETURNING 1
    )
    SELECT pg_notify($16, $17)`
  }

  /** `parentEpoch`: children a Poll starts owe that epoch of their parent a result. */
  private insertParams(calls: readonly NewCall[], parentEpoch: number | null = null): unknown[] {
    return [
      calls.map((c) => c.dispatchId),
      calls.map((c) => c.function),
      calls.map((c) => c.endpoint),
      calls.map((c) => json(c.input)),
      calls.map((c) => nul(c.version)),
      calls.map((c) => nul(c.correlationId)),
      calls.map((c) => c.maxAttempts),
      calls.map((c) => c.createdAt),
      calls.map((c) => c.dueAt),
      calls.map((c) => nul(c.expiresAt)),
      calls.map((c) => nul(c.expirationMs)),
      calls.map((c) => nul(c.fairnessKey)),
      calls.map((c) => nul(c.idempotencyKey)),
      calls.map((c) => nul(c.parentDispatchId)),
      calls.map((c) => nul(c.rootDispatchId)),
      this.channel,
      this.instance,
      parentEpoch,
    ]
  }

  async claimCalls(request: ClaimRequest): Promise<StoredCall[]> {
    const params: unknown[] = [request.now, request.limit, request.owner, request.now + request.leaseMs]
    let queue = ''
    // From one queue, ordered like calls_queue_due (see claimQueues: no sort of the backlog).
    let order = 'due_at'
    if (request.queue !== undefined) {
      order = 'fairness_key, due_at'
      params.push(request.queue.endpoint, request.queue.function)
      queue = 'AND endpoint = $5 AND function = $6'
      if (request.queue.fairnessKey === undefined) queue += ' AND fairness_key IS NULL'
      else {
        params.push(request.queue.fairnessKey)
        queue += ' AND fairness_key = $7'
      }
    }
    // SKIP LOCKED: concurrent claims (other nodes) pass over rows another claim is taking, and the
    // row lock re-checks `due_at` against the committed version, so no call is leased twice.
    const { rows } = await this.query<CallRow>(
      `WITH due AS (
        SELECT id FROM ${this.s}.calls
        WHERE due_at IS NOT NULL AND due_at <= $1 ${queue}
        ORDER BY ${order} LIMIT $2
        FOR UPDATE SKIP LOCKED
      )
      UPDATE ${this.s}.calls AS c
      SET state = 'running', attempts = c.attempts + 1, lease_owner = $3, due_at = $4, updated_at = $1
      FROM due WHERE c.id = due.id
      RETURNING c.*`,
      params,
    )
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
    const { rows: results } = await this.read<ResultRow>(
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
    const t = `${this.s}.calls`
    const open = 'c.due_at IS NOT NULL'
    const cols = 'c.endpoint, c.function, c.fairness_key'
    // A loose index scan over calls_queue_due: one index probe per queue with unfinished calls
    // (DISTINCT would read every due row: a backlog of millions on one queue). In the index order
    // a NULL fairness key comes after the others of its (endpoint, function).
    const { rows } = await this.read<{ endpoint: string; function: string; fairness_key: string | null }>(
      `WITH RECURSIVE q AS (
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
      LIMIT $2`,
      [now, limit],
    )
    return rows.map((r) => ({ endpoint: r.endpoint, function: r.function, fairnessKey: opt(r.fairness_key) }))
  }

  async claimQueues(request: QueueClaimRequest): Promise<StoredCall[]> {
    const queues = request.queues.filter((q) => q.limit > 0)
    if (queues.length === 0) return []
    // Every queue's share in one statement: a lateral subquery per queue, each with its own limit,
    // locking with SKIP LOCKED like claimCalls. Queues with and without a fairness key are separate
    // subqueries so each is an equality (or IS NULL) on the whole calls_queue_due prefix and reads
    // its calls in due order from the index, instead of sorting the queue's backlog. The order names
    // fairness_key although it is fixed: PostgreSQL does not treat IS NULL as an equality, so
    // `ORDER BY due_at` alone sorted the whole unkeyed backlog on every claim (7 ms at 30,000 calls).
    const keyed = queues.filter((q) => q.queue.fairnessKey !== undefined)
    const unkeyed = queues.filter((q) => q.queue.fairnessKey === undefined)
    const share = (from: string, key: string) => `
        SELECT d.id FROM ${from}
        CROSS JOIN LATERAL (
          SELECT id FROM ${this.s}.calls AS c
          WHERE c.due_at IS NOT NULL AND c.due_at <= $1 AND c.endpoint = q.endpoint AND c.function = q.function
            AND ${key}
          ORDER BY c.fairness_key, c.due_at LIMIT q.lim
          FOR UPDATE SKIP LOCKED
        ) AS d`
    const { rows } = await this.query<CallRow>(
      `WITH keyed AS (${share('unnest($4::text[], $5::text[], $6::text[], $7::int[]) AS q(endpoint, function, fairness_key, lim)', 'c.fairness_key = q.fairness_key')}
      ), unkeyed AS (${share('unnest($8::text[], $9::text[], $10::int[]) AS q(endpoint, function, lim)', 'c.fairness_key IS NULL')}
      )
      UPDATE ${this.s}.calls AS c
      SET state = 'running', attempts = c.attempts + 1, lease_owner = $2, due_at = $3, updated_at = $1
      FROM (SELECT id FROM keyed UNION ALL SELECT id FROM unkeyed) AS due WHERE c.id = due.id
      RETURNING c.*`,
      [
        request.now,
        request.owner,
        request.now + request.leaseMs,
        keyed.map((q) => q.queue.endpoint),
        keyed.map((q) => q.queue.function),
        keyed.map((q) => q.queue.fairnessKey),
        keyed.map((q) => q.limit),
        unkeyed.map((q) => q.queue.endpoint),
        unkeyed.map((q) => q.queue.function),
        unkeyed.map((q) => q.limit),
      ],
    )
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
    const plain = completions.filter((c) => c.kind !== 'poll' && c.kind !== 'restart')
    const results = completions.map(() => false)
    if (plain.length > 0) {
      const applied = await completeIsolating(
        plain,
        async (part) => {
          const { rows } = await this.retried(
            () => this.query<{ id: string }>(this.completeSql(), this.completeParams(part, [...ids])),
            deadlock,
          )
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
      (c, i) => !results[i] && c.kind !== 'retry' && c.kind !== 'tailCall', // those were not skipped, only stale
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
    return this.retried(
      () =>
        this.transaction(async (client) => {
          const results: boolean[] = []
          for (const completion of completions) {
            if (completion.kind === 'poll' || completion.kind === 'restart') {
              const applied =
                completion.kind === 'poll'
                  ? await this.suspend(client, completion)
                  : await this.restart(client, completion)
              if (applied) await this.recordAttempt(client, completion)
              results.push(applied)
            } else {
              const applied = await client.query(this.completeSql(), this.completeParams([completion], []))
              results.push(applied.rows.length === 1)
            }
          }
          return results
        }),
      deadlock,
    )
  }

  /** Records a Poll (state, consumed results, children) and suspends the call. */
  private async suspend(client: pg.PoolClient, c: Of<'poll'>): Promise<boolean> {
    const { rows } = await client.query<{ id: string; epoch: number; expires_at: number | null }>(
      `UPDATE ${this.s}.calls AS c
       SET state = 'suspended', status = $5, attempts = c.restarts, output = NULL, error = NULL, poll_state = $6,
         min_results = $7, max_results = $8, poll_deadline = $9, poll_error = $10, due_at = NULL, lease_owner = NULL,
         updated_at = $4
       WHERE c.id = $1 AND c.state = 'running' AND c.attempts = $2 AND c.lease_owner = $3
       RETURNING c.id, c.epoch, c.expires_at`,
      [
        c.dispatchId,
        c.attempt,
        c.owner,
        c.now,
        c.status,
        pollStateJson(c.poll.state),
        c.poll.minResults,
        c.poll.maxResults,
        nul(c.poll.deadline),
        json(c.poll.error),
      ],
    )
    const row = rows[0]
    if (row === undefined) return false
    if (c.consumed.length > 0) {
      await client.query(`DELETE FROM ${this.s}.call_results WHERE parent_id = $1 AND seq = ANY($2::bigint[])`, [
        row.id,
        [...c.consumed],
      ])
    }
    if (c.children.length > 0) await client.query(this.insertSql(), this.insertParams(c.children, row.epoch))
    // Results that arrived while the turn ran count now. A child reporting concurrently waits for this
    // row's lock (taken above), then adds itself to the count stored here.
    const counted = await client.query<{ waiting: number }>(
      `SELECT COUNT(*) AS waiting FROM ${this.s}.call_results WHERE parent_id = $1 AND epoch = $2`,
      [row.id, row.epoch],
    )
    const waiting = counted.rows[0]?.waiting ?? 0
    await client.query(`UPDATE ${this.s}.calls SET results_waiting = $2, due_at = $3 WHERE id = $1`, [
      row.id,
      waiting,
      suspendedDueAt(c.poll, waiting, row.expires_at, c.now),
    ])
    return true
  }

  /** INCOMPATIBLE_STATE on a resumed turn: start again from the input, cancelling the tree below. */
  private async restart(client: pg.PoolClient, c: Of<'restart'>): Promise<boolean> {
    await this.lockDescendants(client, c.dispatchId)
    const { rows } = await client.query(
      `UPDATE ${this.s}.calls AS c
       SET state = 'pending', status = $5, output = NULL, error = $6, ${NO_POLL}, epoch = c.epoch + 1,
         restarts = c.restarts + 1, due_at = $4, lease_owner = NULL, updated_at = $4
       WHERE c.id = $1 AND c.state = 'running' AND c.attempts = $2 AND c.lease_owner = $3
       RETURNING c.id`,
      [c.dispatchId, c.attempt, c.owner, c.now, c.status, json(c.error)],
    )
    if (rows.length === 0) return false
    await this.cancelDescendants(client, c.dispatchId, c.now)
    return true
  }

  private treeSql(): string {
    return `WITH RECURSIVE tree(id) AS (
      SELECT id FROM ${this.s}.calls WHERE parent_id = $1
      UNION ALL SELECT c.id FROM ${this.s}.calls AS c JOIN tree ON c.parent_id = tree.id
    )`
  }

  /**
   * Locks a call's descendants, newest first, before the call itself is changed: children lock their
   * own row before their parent's when they report, so a cascade taking the parent first could deadlock.
   */
  private async lockDescendants(client: pg.PoolClient, dispatchId: string): Promise<void> {
    await client.query(
      `${this.treeSql()} SELECT c.id FROM ${this.s}.calls AS c WHERE c.id IN (SELECT id FROM tree)
       ORDER BY c.id DESC FOR UPDATE`,
      [dispatchId],
    )
  }

  /** Cancels every non-terminal descendant of a call and drops their and its waiting results. */
  private async cancelDescendants(client: pg.PoolClient, dispatchId: string, now: number): Promise<void> {
    await client.query(
      `${this.treeSql()}, cancelled AS (
        UPDATE ${this.s}.calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = $2, ${NO_POLL}
        WHERE id IN (SELECT id FROM tree) AND state IN ${LIVE}
        RETURNING 1
      )
      DELETE FROM ${this.s}.call_results WHERE parent_id = $1 OR parent_id IN (SELECT id FROM tree)`,
      [dispatchId, now],
    )
  }

  /**
   * Terminal outcomes, retries and tail calls of many calls in one statement. `finished`
   * skips children whose parent is in `$27` (the batch), clears the coroutine columns, and reports
   * each child's outcome to its live parent of the same epoch (`woken`, one row per parent, so a
   * concurrent report re-reads the parent's count under its row lock), storing the result after it.
   */
  private completeSql(): string {
    const held = "c.id = u.id AND c.state = 'running' AND c.attempts = u.attempt AND c.lease_owner = u.owner"
    return `WITH finished AS (
      UPDATE ${this.s}.calls AS c
      SET state = u.state, status = u.status, output = u.output, error = u.error, due_at = NULL,
        lease_owner = NULL, updated_at = u.now, ${NO_POLL}
      FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[])
        AS u(id, attempt, owner, now, status, state, output, error)
      WHERE ${held} AND (c.parent_id IS NULL OR c.parent_id <> ALL($27::text[]))
      RETURNING c.id, c.parent_id, c.parent_epoch, c.correlation_id, c.state, c.status, c.output, c.error, u.now
    ), reports AS (
      SELECT parent_id, parent_epoch, COUNT(*)::int AS n, MAX(now) AS now FROM finished
      WHERE parent_epoch IS NOT NULL GROUP BY parent_id, parent_epoch
    ), woken AS (
      UPDATE ${this.s}.calls AS p
      SET results_waiting = p.results_waiting + r.n,
        due_at = CASE WHEN p.state = 'suspended' AND p.results_waiting + r.n >= p.min_results
          AND (p.due_at IS NULL OR p.due_at > r.now) THEN r.now ELSE p.due_at END
      FROM reports AS r
      WHERE p.id = r.parent_id AND p.epoch = r.parent_epoch AND p.state IN ${LIVE}
      RETURNING p.id
    ), stored AS (
      INSERT INTO ${this.s}.call_results (parent_id, epoch, child_id, correlation_id, output, error, created_at)
      SELECT f.parent_id, f.parent_epoch, f.id, f.correlation_id,
        CASE WHEN f.state = 'failed' THEN NULL ELSE f.output END,
        CASE WHEN f.state = 'failed' THEN COALESCE(f.error, json_build_object('type', COALESCE(f.status, 'Failed'),
          'message', 'the call failed with ' || COALESCE(f.status, 'an error'))::text) END,
        f.now
      FROM finished AS f JOIN woken AS w ON w.id = f.parent_id
      ORDER BY f.now, f.id
    ), retried AS (
      UPDATE ${this.s}.calls AS c
      SET state = 'pending', status = u.status, output = NULL, error = u.error, due_at = u.due_at,
        lease_owner = NULL, updated_at = u.now
      FROM unnest($9::text[], $10::int[], $11::text[], $12::bigint[], $13::text[], $14::bigint[], $15::text[])
        AS u(id, attempt, owner, now, status, due_at, error)
      WHERE ${held}
      RETURNING c.id
    ), replaced AS (
      -- Right-hand sides read the old row, so origin_* capture the call as it was.
      UPDATE ${this.s}.calls AS c
      SET state = 'pending', status = u.status, attempts = 0, output = NULL, error = NULL,
        origin_input = CASE WHEN c.origin_function IS NULL THEN c.input ELSE c.origin_input END,
        origin_function = COALESCE(c.origin_function, c.function),
        origin_endpoint = COALESCE(c.origin_endpoint, c.endpoint),
        function = u.function, endpoint = u.endpoint, input = u.input, version = u.version,
        expires_at = COALESCE(u.expires_at, c.expires_at), expiration_ms = COALESCE(u.expiration_ms, c.expiration_ms),
        due_at = u.now, lease_owner = NULL, updated_at = u.now, ${NO_POLL}, epoch = c.epoch + 1, restarts = 0
      FROM unnest($16::text[], $17::int[], $18::text[], $19::bigint[], $20::text[], $21::text[], $22::text[],
        $23::text[], $24::text[], $25::bigint[], $26::bigint[])
        AS u(id, attempt, owner, now, status, function, endpoint, input, version, expires_at, expiration_ms)
      WHERE ${held}
      RETURNING c.id
    ), dropped AS (
      DELETE FROM ${this.s}.call_results WHERE parent_id IN (SELECT id FROM finished UNION ALL SELECT id FROM replaced)
    ), applied AS (
      SELECT id FROM finished UNION ALL SELECT id FROM retried UNION ALL SELECT id FROM replaced
    ), ${this.attemptsCte(28)}
    SELECT id FROM applied`
  }

  /**
   * CTEs that add the attempts of the calls in `applied` to their histories (params `$first` to
   * `$first + 7`, see {@link attemptParams}) and drop the entries beyond the limit. One statement sees
   * one snapshot: the old entries are counted without the new one, so each call keeps `limit - 1` of them.
   */
  private attemptsCte(first: number): string {
    const p = (i: number) => `$${first + i}`
    return `attempted AS (
      INSERT INTO ${this.s}.call_attempts (call_id, attempt, started_at, finished_at, status, outcome, error)
      SELECT a.id, a.attempt, a.started_at, a.finished_at, a.status, a.outcome, a.error
      FROM unnest(${p(0)}::text[], ${p(1)}::int[], ${p(2)}::bigint[], ${p(3)}::bigint[], ${p(4)}::text[],
        ${p(5)}::text[], ${p(6)}::text[]) AS a(id, attempt, started_at, finished_at, status, outcome, error)
      WHERE a.id IN (SELECT id FROM applied)
    ), trimmed AS (
      DELETE FROM ${this.s}.call_attempts AS t USING (
        SELECT seq, row_number() OVER (PARTITION BY call_id ORDER BY seq DESC) AS n
        FROM ${this.s}.call_attempts WHERE call_id IN (SELECT id FROM applied)
      ) AS old
      WHERE t.seq = old.seq AND old.n >= ${p(7)}
    )`
  }

  /** The parameters of {@link attemptsCte}: one history entry per completion. */
  private attemptParams(completions: readonly Completion[]): unknown[] {
    const records = completions.map((c) => ({ id: c.dispatchId, ...attemptRecord(c) }))
    return [
      records.map((r) => r.id),
      records.map((r) => r.attempt),
      records.map((r) => r.startedAt),
      records.map((r) => r.finishedAt),
      records.map((r) => r.status),
      records.map((r) => r.outcome),
      records.map((r) => json(r.error)),
      ATTEMPT_HISTORY_LIMIT,
    ]
  }

  /** Adds a Poll's or a restart's attempt to its call's history, inside the transaction that applied it. */
  private async recordAttempt(client: pg.PoolClient, c: Completion): Promise<void> {
    await client.query(`WITH applied AS (SELECT $1::text AS id), ${this.attemptsCte(2)} SELECT 1`, [
      c.dispatchId,
      ...this.attemptParams([c]),
    ])
  }

  async listAttempts(dispatchId: string): Promise<StoredAttempt[]> {
    const { rows } = await this.read<{
      attempt: number
      started_at: number
      finished_at: number
      status: string
      outcome: string
      error: string | null
    }>(
      `SELECT attempt, started_at, finished_at, status, outcome, error FROM ${this.s}.call_attempts
       WHERE call_id = $1 ORDER BY seq`,
      [dispatchId],
    )
    return rows.map((row) => ({
      attempt: row.attempt,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      status: row.status as Status,
      outcome: row.outcome as Completion['kind'],
      error: row.error === null ? undefined : (JSON.parse(row.error) as ErrorMessage),
    }))
  }

  private completeParams(completions: readonly Completion[], batch: readonly string[]): unknown[] {
    const finished = completions.filter(
      (c): c is Of<'succeeded' | 'failed'> => c.kind === 'succeeded' || c.kind === 'failed',
    )
    const retried = completions.filter((c): c is Of<'retry'> => c.kind === 'retry')
    const replaced = completions.filter((c): c is Of<'tailCall'> => c.kind === 'tailCall')
    const head = (list: readonly Completion[]) => [
      list.map((c) => c.dispatchId),
      list.map((c) => c.attempt),
      list.map((c) => c.owner),
      list.map((c) => c.now),
      list.map((c) => c.status),
    ]
    return [
      ...head(finished),
      finished.map((c) => c.kind),
      finished.map((c) => json(c.output)),
      finished.map((c) => json(c.error)),
      ...head(retried),
      retried.map((c) => c.dueAt),
      retried.map((c) => json(c.error)),
      ...head(replaced),
      replaced.map((c) => c.function),
      replaced.map((c) => c.endpoint),
      replaced.map((c) => json(c.input)),
      replaced.map((c) => nul(c.version)),
      replaced.map((c) => nul(c.expiresAt)),
      replaced.map((c) => nul(c.expirationMs)),
      batch,
      ...this.attemptParams([...finished, ...retried, ...replaced]),
    ]
  }

  /** Extends the leases of attempts this owner still holds (same attempt, still running). */
  async renewLeases(owner: string, leases: readonly LeaseExtension[]): Promise<number> {
    if (leases.length === 0) return 0
    // SKIP LOCKED: a row locked now is being completed (or taken over): renewing it would wait, and
    // waiting for a multi-row completion that locks in another order deadlocked. A skipped lease is
    // renewed at the next renewal, two more before it expires.
    const result = await this.read(
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
    const { rows } = await this.read<CallRow>(`SELECT * FROM ${this.s}.calls WHERE id = $1`, [dispatchId])
    return rows[0] === undefined ? undefined : toStoredCall(rows[0])
  }

  async getCalls(dispatchIds: readonly string[]): Promise<StoredCall[]> {
    if (dispatchIds.length === 0) return []
    const { rows } = await this.read<CallRow>(`SELECT * FROM ${this.s}.calls WHERE id = ANY($1::text[])`, [
      [...dispatchIds],
    ])
    return rows.map(toStoredCall)
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
    if (filter.after !== undefined) add('id < ?', filter.after)
    params.push(filter.limit + 1, messageCap(filter))
    const { rows } = await this.read<ListedRow>(
      `SELECT ${LISTED_COLUMNS}, ${listedMessages(`$${params.length}::bigint`)}
       FROM ${this.s}.calls ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id DESC LIMIT $${params.length - 1}`,
      params,
    )
    return toListPage(rows, filter)
  }

  async cancelCall(dispatchId: string, now: number): Promise<ChangeResult> {
    const row = await this.transaction(async (client) => {
      await this.lockDescendants(client, dispatchId)
      const { rows } = await client.query<CallRow>(
        `UPDATE ${this.s}.calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = $2, ${NO_POLL}
         WHERE id = $1 AND state IN ${LIVE}
         RETURNING *`,
        [dispatchId, now],
      )
      const cancelled = rows[0]
      if (cancelled === undefined) return undefined
      // The tree below goes with it, and a child tells its parent it was cancelled.
      await this.cancelDescendants(client, dispatchId, now)
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
    const { rows } = await this.query<CallRow>(
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
      [dispatchId, now, this.channel, this.instance],
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
    const { rows } = await this.read<{ released: number }>(
      `WITH released AS (
        UPDATE ${this.s}.calls SET state = 'pending', due_at = $1, lease_owner = NULL, updated_at = $1
        WHERE state = 'running' AND ($3::text IS NULL OR lease_owner = $3)
        RETURNING 1
      )
      SELECT (SELECT COUNT(*) FROM released) AS released, pg_notify($2, $4)`,
      [now, this.channel, owner ?? null, this.instance],
    )
    return rows[0]?.released ?? 0
  }

  async nextDueAt(): Promise<number | undefined> {
    const { rows } = await this.read<{ due: number | null }>(
      `SELECT MIN(due_at) AS due FROM ${this.s}.calls WHERE due_at IS NOT NULL`,
    )
    return opt(rows[0]?.due ?? null)
  }

  async countCalls(): Promise<CallCounts[]> {
    const { rows } = await this.read<CallCounts>(
      `SELECT function, state, COUNT(*) AS count,
         SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END)::int AS retrying
       FROM ${this.s}.calls GROUP BY function, state ORDER BY function COLLATE "C", state COLLATE "C"`,
    )
    return rows.map((r) => ({ function: r.function, state: r.state, count: r.count, retrying: r.retrying }))
  }

  async purgeIdempotencyKeys(before: number): Promise<number> {
    const result = await this.read(`DELETE FROM ${this.s}.idempotency_keys WHERE created_at < $1`, [before])
    return result.rowCount ?? 0
  }

  /**
   * Nodes purging together take disjoint rows (`SKIP LOCKED`), and the delete checks the state and
   * time again on each locked row, so a call redriven meanwhile is kept. The pick is a materialized
   * CTE: as an `IN` subquery, PostgreSQL may run it again per row and so ignore its LIMIT.
   */
  async purgeFinishedCalls(before: number, limit: number): Promise<number> {
    if (limit <= 0) return 0
    // BIGINT parameters: a fractional instant (a retention of 1.5 ms) would not parse.
    const cutoff = Math.ceil(before)
    const { rows } = await this.query<{ deleted: number }>(
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
    const { rows } = await this.read<{ value: string }>(
      `WITH put AS (
        INSERT INTO ${this.s}.settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
      )
      SELECT value FROM put UNION ALL SELECT value FROM ${this.s}.settings WHERE name = $1`,
      [name, make()],
    )
    if (rows[0] !== undefined) return rows[0].value
    // A concurrent first insert committed after this statement's snapshot: read it now.
    const again = await this.read<{ value: string }>(`SELECT value FROM ${this.s}.settings WHERE name = $1`, [name])
    if (again.rows[0] === undefined) throw new Error(`the shared setting ${name} could not be stored`)
    return again.rows[0].value
  }

  /**
   * Calls `listener` whenever any node inserts, redrives or releases calls in this schema
   * (LISTEN/NOTIFY on a dedicated connection, re-established with backoff when it drops), so an
   * idle node claims at once instead of at its next poll. Returns a function that stops listening.
   */
  onNewWork(listener: () => void): () => void {
    this.wakeListeners.add(listener)
    if (this.listener === undefined && this.listenRetry === undefined) void this.listen(100)
    return () => {
      this.wakeListeners.delete(listener)
    }
  }

  private async listen(retryMs: number): Promise<void> {
    this.listenRetry = undefined
    if (this.closed) return
    const client = new pg.Client(this.connection)
    client.on('notification', (message) => {
      // This store's own changes: its scheduler already knows (the API wakes the loop itself).
      if (message.payload === this.instance) return
      for (const listener of this.wakeListeners) listener()
    })
    const reconnect = () => {
      if (this.listener === client) this.listener = undefined
      client.end().catch(() => undefined)
      if (this.closed || this.listenRetry !== undefined) return
      this.listenRetry = setTimeout(() => void this.listen(Math.min(retryMs * 2, 5000)), retryMs)
      this.listenRetry.unref()
    }
    client.on('error', reconnect)
    client.on('end', reconnect)
    try {
      await client.connect()
      await client.query(`LISTEN "${this.channel}"`)
      if (this.closed) {
        await client.end()
        return
      }
      this.listener = client
      // Anything inserted while the connection was down: wake once, the claim finds it.
      for (const listener of this.wakeListeners) listener()
    } catch {
      reconnect()
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.listenRetry)
    const listener = this.listener
    this.listener = undefined
    if (listener !== undefined) {
      listener.removeAllListeners('end')
      listener.removeAllListeners('error')
      listener.on('error', () => undefined)
      await listener.end().catch(() => undefined)
    }
    await this.pool.end()
  }

  /** Drops this store's schema and everything in it (tests, and tearing down an installation). */
  async dropSchema(): Promise<void> {
    await this.query(`DROP SCHEMA IF EXISTS ${this.s} CASCADE`)
  }
}

/** Opens the PostgreSQL store: connects, migrates the schema (default `dispatch`) and returns it. */
export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options)
}
