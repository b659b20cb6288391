import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { AnyMessage, CallState } from 'dispatch-functions/protocol'
import { dspError } from 'dispatch-functions/protocol'
import { ATTEMPT_COLUMNS, type AttemptRow, attemptRecord, toStoredAttempt } from './attemptRecord.js'
import { type CallRow, opt, toStoredCall } from './callRow.js'
import { CALL_ROW_SQL, callRowOf, callRowsOf } from './callRowValues.js'
import { FINISHED, json, LIVE, NO_POLL } from './callSql.js'
import { completeIsolating } from './completeIsolating.js'
import { CANCELLED_ERROR, pollStateJson, type ResultRow, storedResult, suspendedDueAt } from './coroutineRows.js'
import { IdempotencyConflict, inputDigest } from './idempotencyConflict.js'
import { LISTED_COLUMNS, type ListedRow, listedMessages, messageCap, toListPage } from './listPage.js'
import { type BacklogRow, backlogSql, toBacklog } from './queueBacklog.js'
import { SQLITE_CLAIM_CAPPED } from './sqliteCappedClaim.js'
import { SqliteDebounce } from './sqliteDebounce.js'
import { SqliteSchedules } from './sqliteSchedules.js'
import { SQLITE_MIGRATIONS } from './sqliteSchema.js'
import { storableCall, storableCompletion } from './storableValues.js'
import {
  ATTEMPT_HISTORY_LIMIT,
  type CallCounts,
  type CappedClaimRequest,
  type ChangeResult,
  type ClaimRequest,
  type Completion,
  type CompletionOf,
  type CountOptions,
  type InsertOptions,
  type InsertResult,
  type ListFilter,
  type ListPage,
  type NewCall,
  type QueueBacklog,
  type QueueClaimRequest,
  type QueueKey,
  type ScheduleFiring,
  type ScheduleSync,
  type Store,
  type StoredAttempt,
  type StoredCall,
  type StoredSchedule,
} from './store.js'
import { WalSync } from './walSync.js'

export interface SqliteStoreOptions {
  /**
   * `FULL` (default): every write is fsynced before it resolves, so a reply sent after a write survives
   * a power loss (the fsync runs on the thread pool and serves every write committed meanwhile; reads
   * for the API wait for it too). `NORMAL` survives a process crash (the WAL is in the OS page cache)
   * but not a power loss.
   */
  readonly synchronous?: 'FULL' | 'NORMAL'
  /** How long to wait for the database lock before failing with DSP3002; default 2000 ms. */
  readonly busyTimeoutMs?: number
}

/** What a call that just became terminal reports to its parent. */
interface FinishedRow {
  id: string
  parent_id: string | null
  parent_epoch: number | null
  correlation_id: string | null
  state: CallState
  status: string | null
  output: string | null
  error: string | null
}

/**
 * Errors a value of the batch caused (a constraint, a value SQLite cannot bind or hold), as opposed to
 * the file being unavailable (full, failing, locked): those fail the whole batch, to be retried.
 */
function sqliteDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)(_|$)/.test(code)
  return error instanceof TypeError || error instanceof RangeError
}

// Completions are conditional on the claim: a stale outcome (lease taken over, call cancelled) changes nothing.
const CLAIM_HELD = "id = @id AND state = 'running' AND attempts = @attempt AND lease_owner = @owner"

/**
 * The embedded store: one SQLite file in WAL mode, held by one scheduler process at a time
 * (exclusive locking), every write but a claim fsync'd (`synchronous=FULL`) before its method resolves.
 * better-sqlite3 is synchronous, so each method is one transaction committed before it resolves; the
 * fsync that makes it durable runs afterwards on the thread pool, shared by every write committed
 * while it runs (see {@link WalSync}).
 *
 * @example
 * ```ts
 * const store = openSqliteStore('.dispatch/dispatch.db')
 * ```
 */
export class SqliteStore implements Store {
  readonly exclusive = true
  readonly path: string
  /**
   * Files of the database (the file, its WAL, its journal) that existed with permissions for the
   * group or others and were made the owner's only (0600) at open; the scheduler warns about them.
   */
  readonly tightened: readonly string[]
  private readonly db: Database.Database
  private readonly statements: ReturnType<typeof prepare>
  /** Debounced dispatches (docs/flow-control.md), apart so that other calls' inserts do no more. */
  private readonly debounce: SqliteDebounce
  private readonly schedules: SqliteSchedules
  /** Commits fsync the WAL (`synchronous=FULL`): claims then commit without it (see {@link claiming}). */
  private readonly fsyncs: boolean
  /**
   * With `synchronous=FULL` on a file: the fsync of durable writes, on the thread pool after a
   * commit without one (group commit; see {@link WalSync}). Claims need none.
   */
  private readonly wal: WalSync | undefined
  private closed = false

  constructor(path: string, options: SqliteStoreOptions = {}) {
    // ':memory:' is a database of this process alone (the test environment's), never a file.
    const inMemory = path === ':memory:'
    this.path = inMemory ? path : resolve(path)
    try {
      this.tightened = []
      if (!inMemory) {
        mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 })
        this.tightened = ownerOnly(this.path)
      }
      this.db = new Database(this.path, { timeout: options.busyTimeoutMs ?? 2000 })
    } catch (cause) {
      throw dspError('DSP3001', `cannot open the scheduler database ${this.path}: ${(cause as Error).message}`, {
        hint: 'check that the folder exists or can be created, and that this user may write to it',
        cause,
      })
    }
    try {
      // Exclusive locking: a second scheduler on the same file fails at start instead of sharing
      // leases it cannot see; it also lets WAL skip the shared-memory index.
      this.db.pragma('locking_mode = EXCLUSIVE')
      this.db.pragma('journal_mode = WAL')
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
      this.fsyncs = (options.synchronous ?? 'FULL') === 'FULL'
      this.db.pragma('foreign_keys = OFF')
      // Statement journals (a multi-row statement inside a batch's transaction keeps the pages it
      // changes, to undo that statement alone) in memory, not in a temporary file: a batch of
      // completions wrote several pages to one per outcome, a system call each.
      this.db.pragma('temp_store = MEMORY')
      this.migrate()
      if (this.fsyncs && !inMemory) {
        // From here on SQLite writes the WAL without syncing it; WalSync syncs it before a write resolves.
        this.db.pragma('synchronous = NORMAL')
        this.wal = new WalSync(`${this.path}-wal`)
      }
    } catch (cause) {
      this.db.close()
      if ((cause as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw dspError('DSP3002', `the scheduler database ${this.path} is in use by another process`, {
          hint: 'stop the other scheduler, or give this one its own database (--db PATH)',
          cause,
        })
      }
      throw cause
    }
    this.statements = prepare(this.db)
    this.debounce = new SqliteDebounce(this.db)
    this.schedules = new SqliteSchedules(this.db)
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number
    if (version > SQLITE_MIGRATIONS.length) {
      throw dspError(
        'DSP3003',
        `the scheduler database ${this.path} has schema version ${version}, newer than this version knows (${SQLITE_MIGRATIONS.length})`,
        { hint: 'upgrade dispatch-functions, or use another database file' },
      )
    }
    // BEGIN IMMEDIATE takes the write lock even when there is nothing to migrate, so a second
    // process fails here (DSP3002) rather than at its first dispatch.
    this.db
      .transaction(() => {
        for (let i = version; i < SQLITE_MIGRATIONS.length; i++) {
          this.db.exec(SQLITE_MIGRATIONS[i]!)
          this.db.pragma(`user_version = ${i + 1}`)
        }
      })
      .immediate()
  }

  async insertCalls(calls: readonly NewCall[], options: InsertOptions): Promise<InsertResult[]> {
    this.writable()
    const s = this.statements
    const since = options.now - options.idempotencyWindowMs
    const storable = calls.map(storableCall)
    const inserted = this.db.transaction(() => {
      const debounced: NewCall[] = []
      const results = storable.map((call, index): InsertResult => {
        const key = call.idempotencyKey
        if (key !== undefined) {
          const digest = inputDigest(call.input)
          const seen = s.findKey.get(key, call.function, call.endpoint) as
            | { dispatch_id: string; created_at: number; input_hash: string | null }
            | undefined
          if (seen !== undefined && seen.created_at >= since) {
            if (seen.input_hash !== null && seen.input_hash !== digest) {
              throw new IdempotencyConflict(index, key, call.function, call.endpoint, seen.dispatch_id)
            }
            return { dispatchId: seen.dispatch_id, inserted: false }
          }
          s.putKey.run(key, call.function, call.endpoint, call.dispatchId, digest, options.now)
        }
        if (call.debounce === undefined) s.insert.run(insertParams(call))
        else debounced.push(call)
        return { dispatchId: call.dispatchId, inserted: true }
      })
      if (debounced.length === 0) return results
      return this.debounce.insert(debounced, results, options.now, (call) => s.insert.run(insertParams(call)))
    })()
    // Counted first: the commit is waited for whatever the listener does, and a listener's failure
    // does not fail a write that is committed.
    const durable = this.durable(inserted)
    try {
      options.onCommitted?.(inserted)
    } catch {
      // The caller goes on when the insert resolves (it notices new work then at the latest).
    }
    return durable
  }

  async claimCalls(request: ClaimRequest): Promise<StoredCall[]> {
    this.writable()
    const params = {
      now: request.now,
      limit: request.limit,
      owner: request.owner,
      until: request.now + request.leaseMs,
    }
    const queue = request.queue
    return this.claiming(() =>
      this.withResults(
        callRowsOf(
          queue === undefined
            ? this.statements.claim.all(params)
            : this.statements.claimQueue.all({
                ...params,
                endpoint: queue.endpoint,
                function: queue.function,
                fairness_key: queue.fairnessKey ?? null,
              }),
        ),
      ),
    )
  }

  /**
   * Runs a claim's transaction without an fsync of its commit. A claim needs none: its outcome, an
   * attempt's lease, is released at the next start anyway (this store is exclusive), and what a power
   * loss could take back is only the lease and the attempt count of calls then delivered again — at
   * least once, as for any attempt whose outcome was not recorded. The next fsync'd commit (an
   * outcome, a dispatch) makes it durable with everything before it, WAL frames being ordered. With
   * 10,000 children a coroutine's fan-out takes hundreds of claims, each of which fsync'd (several ms
   * each on a busy disk) on the one thread that also delivers.
   */
  private claiming<T>(claim: () => T): T {
    if (this.wal !== undefined) return this.counted(this.db.transaction(claim)())
    if (!this.fsyncs) return this.db.transaction(claim)()
    this.statements.syncNormal.run()
    try {
      return this.db.transaction(claim)()
    } finally {
      this.statements.syncFull.run()
    }
  }

  /** A row with its coroutine state read from `poll_states` (the row itself only marks that it has one). */
  private withState(row: CallRow): CallRow {
    if (row.poll_state !== '') return row
    const kept = this.statements.pollState.get(row.id) as { state: string } | undefined
    return { ...row, poll_state: kept?.state ?? null }
  }

  private toCall(row: CallRow): StoredCall {
    return toStoredCall(this.withState(row))
  }

  async claimCapped(request: CappedClaimRequest): Promise<StoredCall[]> {
    this.writable()
    const params = {
      now: request.now,
      limit: request.limit,
      owner: request.owner,
      until: request.now + request.leaseMs,
      turns: JSON.stringify(
        (request.turns ?? []).map((t) => [t.queue.endpoint, t.queue.function, t.queue.fairnessKey ?? null, t.offset]),
      ),
      costs: JSON.stringify(request.costs ?? {}),
    }
    const claim = this.db.transaction(() => {
      this.statements.pruneRateStarts.run(request.now)
      const rows = callRowsOf(this.statements.claimCapped.all(params))
      // Every start of a rate-limited call counts for its period, whatever becomes of the attempt.
      for (const row of rows) {
        if (row.rate_key != null && row.rate_limit != null && row.rate_period_ms != null) {
          this.statements.rateStart.run(row.function, row.rate_key, request.now + row.rate_period_ms)
        }
      }
      return this.withResults(rows)
    })
    return this.counted(claim())
  }

  /** A claim committed without waiting for the disk (see claiming), counted so later reads wait for it. */
  private counted<T>(claimed: T): T {
    this.wal?.committedUnwaited()
    return claimed
  }

  async nextRateOpening(now: number): Promise<number | undefined> {
    const row = this.statements.nextRateOpening.get(now) as { at: number | null }
    return row.at ?? undefined
  }

  /** Claimed rows as calls; a resumed coroutine comes with up to `maxResults` waiting results, oldest first. */
  private withResults(rows: readonly CallRow[]): StoredCall[] {
    return rows.map((row) => {
      const call = this.toCall(row)
      if (call.poll === undefined || row.results_waiting === 0) return call
      const results = this.statements.waitingResults.all({
        parent: row.id,
        epoch: row.epoch,
        limit: call.poll.maxResults,
      }) as ResultRow[]
      return { ...call, results: results.map(storedResult) }
    })
  }

  async dueQueues(now: number, limit: number): Promise<QueueKey[]> {
    const rows = this.statements.dueQueues.all({ now, limit }) as {
      endpoint: string
      function: string
      fairness_key: string | null
    }[]
    return rows.map((r) => ({ endpoint: r.endpoint, function: r.function, fairnessKey: opt(r.fairness_key) }))
  }

  async queueBacklog(now: number, limit: number): Promise<QueueBacklog[]> {
    await this.settled()
    const rows = this.statements.backlog.all({ now, limit }) as BacklogRow[]
    return rows.map(toBacklog)
  }

  async claimQueues(request: QueueClaimRequest): Promise<StoredCall[]> {
    this.writable()
    const claim = this.statements.claimQueue
    const until = request.now + request.leaseMs
    return this.claiming(() =>
      request.queues.flatMap(({ queue, limit }) =>
        limit <= 0
          ? []
          : this.withResults(
              callRowsOf(
                claim.all({
                  now: request.now,
                  limit,
                  owner: request.owner,
                  until,
                  endpoint: queue.endpoint,
                  function: queue.function,
                  fairness_key: queue.fairnessKey ?? null,
                }),
              ),
            ),
      ),
    )
  }

  async completeAttempts(completions: readonly Completion[]): Promise<boolean[]> {
    this.writable()
    const applied = await completeIsolating(
      completions.map(storableCompletion),
      async (batch) => this.completeBatch(batch),
      (error) => !this.closed && sqliteDataError(error),
    )
    return this.durable(applied)
  }

  /** Applies outcomes in one transaction (all or none). */
  private completeBatch(completions: readonly Completion[]): boolean[] {
    return this.db.transaction(() =>
      completions.map((c) => {
        const applied = this.apply(c)
        if (applied) this.recordAttempt(c)
        return applied
      }),
    )()
  }

  /** Each applied outcome joins its call's history, the oldest entries beyond the limit dropped. */
  private recordAttempt(c: Completion): void {
    const a = attemptRecord(c)
    this.statements.putAttempt.run({
      id: c.dispatchId,
      attempt: a.attempt,
      started_at: a.startedAt,
      finished_at: a.finishedAt,
      status: a.status,
      outcome: a.outcome,
      error: json(a.error),
    })
    this.statements.trimAttempts.run({ id: c.dispatchId, keep: ATTEMPT_HISTORY_LIMIT })
  }

  async listAttempts(dispatchId: string): Promise<StoredAttempt[]> {
    await this.settled()
    const rows = this.statements.attempts.all(dispatchId) as AttemptRow[]
    return rows.map(toStoredAttempt)
  }

  /** Applies one outcome if its claim still holds; false when it is stale. */
  private apply(c: Completion): boolean {
    const s = this.statements
    if (c.kind === 'succeeded' || c.kind === 'failed') {
      // Most outcomes: their parameters in one object, without the spread of the other kinds'.
      const row = s.finish.get({
        id: c.dispatchId,
        attempt: c.attempt,
        owner: c.owner,
        now: c.now,
        status: c.status,
        state: c.kind,
        output: json(c.output),
        error: json(c.error),
      }) as FinishedRow | undefined
      if (row === undefined) return false
      this.finished(row, c.now)
      if (c.coroutine === true) this.cancelChildren(c.dispatchId, c.now)
      return true
    }
    const held = { id: c.dispatchId, attempt: c.attempt, owner: c.owner, now: c.now, status: c.status }
    switch (c.kind) {
      case 'retry':
        return s.retry.run({ ...held, due_at: c.dueAt, error: json(c.error) }).changes === 1
      case 'tailCall': {
        const applied =
          s.tailCall.run({
            ...held,
            function: c.function,
            endpoint: c.endpoint,
            input: json(c.input),
            version: c.version ?? null,
            expires_at: c.expiresAt ?? null,
            expiration_ms: c.expirationMs ?? null,
          }).changes === 1
        if (applied) s.deleteResults.run(c.dispatchId)
        if (applied && c.coroutine === true) this.cancelChildren(c.dispatchId, c.now)
        return applied
      }
      case 'poll':
        return this.suspend(c, held)
      default: {
        // 'restart'
        const applied = s.restart.run({ ...held, error: json(c.error) }).changes === 1
        if (applied) this.cancelDescendants(c.dispatchId, c.now)
        return applied
      }
    }
  }

  /**
   * A call became terminal: its own waiting results go, and a child reports its outcome to
   * its parent (still live and in the same epoch), waking a suspended parent that now has enough.
   */
  private finished(row: FinishedRow, now: number): void {
    const s = this.statements
    s.deleteResults.run(row.id)
    if (row.parent_id === null || row.parent_epoch === null) return
    let error = row.error
    if (row.state === 'cancelled') error = JSON.stringify(CANCELLED_ERROR)
    else if (row.state === 'failed' && error === null) {
      error = JSON.stringify({ type: row.status ?? 'Failed', message: `the call failed with ${row.status}` })
    }
    const parent = s.report.get({ parent: row.parent_id, epoch: row.parent_epoch, now }) as { id: string } | undefined
    if (parent === undefined) return // the parent is terminal or restarted: a late result, dropped
    s.putResult.run({
      parent: row.parent_id,
      epoch: row.parent_epoch,
      child: row.id,
      correlation_id: row.correlation_id,
      output: error === null ? row.output : null,
      error,
      now,
    })
  }

  /** Records a Poll (state, consumed results, children) and suspends the call, in the caller's transaction. */
  private suspend(c: CompletionOf<'poll'>, held: Record<string, unknown>): boolean {
    const s = this.statements
    const row = s.suspend.get({
      ...held,
      min_results: c.poll.minResults,
      max_results: c.poll.maxResults,
      poll_deadline: c.poll.deadline ?? null,
      poll_error: json(c.poll.error),
    }) as { id: string; epoch: number; expires_at: number | null } | undefined
    if (row === undefined) return false
    s.putPollState.run({ id: row.id, state: pollStateJson(c.poll.state) })
    if (c.consumed.length > 0) s.consumeResults.run({ parent: row.id, seqs: JSON.stringify(c.consumed) })
    for (const child of c.children) {
      s.insert.run({ ...insertParams(child), parent_id: row.id, parent_epoch: row.epoch })
    }
    // Results that arrived while the turn ran count now (children of earlier turns).
    const { waiting } = s.countResults.get({ parent: row.id, epoch: row.epoch }) as { waiting: number }
    s.suspendedDue.run({
      id: row.id,
      waiting,
      due_at: suspendedDueAt(c.poll, waiting, row.expires_at, c.now),
    })
    return true
  }

  /** Cancels every non-terminal descendant of a call and drops their waiting results. */
  private cancelDescendants(dispatchId: string, now: number): void {
    const s = this.statements
    s.cancelTree.run({ id: dispatchId, now })
    s.deleteTreeResults.run({ id: dispatchId })
  }

  /** A coroutine ended: its unfinished descendants are cancelled, but its detached children's trees. */
  private cancelChildren(dispatchId: string, now: number): void {
    const s = this.statements
    s.cancelAttachedTree.run({ id: dispatchId, now })
    s.deleteAttachedTreeResults.run({ id: dispatchId })
  }

  /**
   * Resolves `value` once the commit that made it is on disk: at once without {@link WalSync}
   * (FULL synced it inside the commit; NORMAL never waits for the disk).
   */
  private async durable<T>(value: T): Promise<T> {
    if (this.wal !== undefined) await this.wal.committedNow()
    return value
  }

  /**
   * Refuses a write once the store is closing (nothing may commit after its last sync) or once its
   * WAL could not be synced (see {@link WalSync}: the scheduler must be restarted).
   */
  private writable(): void {
    if (this.closed) throw new Error(`the SQLite store ${this.path} is closed`)
    const failed = this.wal?.failed
    if (failed !== undefined) throw failed
  }

  /** Waits, before a read answered outside the scheduler, until what it may read is on disk. */
  private async settled(): Promise<void> {
    if (this.wal !== undefined) await this.wal.settled()
  }

  async getCall(dispatchId: string): Promise<StoredCall | undefined> {
    await this.settled()
    const row = this.statements.get.get(dispatchId) as unknown[] | undefined
    return row === undefined ? undefined : this.toCall(callRowOf(row))
  }

  async getCalls(dispatchIds: readonly string[]): Promise<StoredCall[]> {
    if (dispatchIds.length === 0) return []
    await this.settled()
    return callRowsOf(this.statements.getMany.all(JSON.stringify(dispatchIds))).map((row) => this.toCall(row))
  }

  async dueQueuesOf(dispatchIds: readonly string[], now: number): Promise<QueueKey[]> {
    if (dispatchIds.length === 0) return []
    const rows = this.statements.dueQueuesOf.all({ ids: JSON.stringify(dispatchIds), now }) as {
      endpoint: string
      function: string
      fairness_key: string | null
    }[]
    return rows.map((r) => ({ endpoint: r.endpoint, function: r.function, fairnessKey: opt(r.fairness_key) }))
  }

  async listCalls(filter: ListFilter): Promise<ListPage> {
    await this.settled()
    const where: string[] = []
    const params: Record<string, unknown> = { limit: filter.limit + 1, max: messageCap(filter) }
    // One condition per filter given, bound by name (as the PostgreSQL store's list does by position).
    const add = (clause: string, name: string, value: unknown) => {
      if (value === undefined) return
      where.push(clause)
      params[name] = value
    }
    add('state = @state', 'state', filter.state)
    add('function = @function', 'function', filter.function)
    add('fairness_key = @fairness_key', 'fairness_key', filter.fairnessKey)
    add('parent_id = @parent_id', 'parent_id', filter.parentDispatchId)
    add('endpoint = @endpoint', 'endpoint', filter.endpoint)
    add('created_at >= @created_from', 'created_from', filter.createdFrom)
    add('created_at < @created_before', 'created_before', filter.createdBefore)
    add('(id = @search OR idempotency_key = @search)', 'search', filter.search)
    add('id < @after', 'after', filter.after)
    const sql = `SELECT ${LISTED_COLUMNS}, ${listedMessages('@max')} FROM calls
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`
    return toListPage(this.db.prepare(sql).all(params) as ListedRow[], filter)
  }

  async cancelCall(dispatchId: string, now: number): Promise<ChangeResult> {
    this.writable()
    const row = this.db.transaction(() => {
      const cancelled = rowOf(this.statements.cancel.get({ id: dispatchId, now }))
      if (cancelled !== undefined) {
        // The whole tree below goes with it, and a child tells its parent it was cancelled.
        this.cancelDescendants(dispatchId, now)
        this.finished(cancelled, now)
      }
      return cancelled
    })()
    return this.changeResult(dispatchId, await this.durable(row))
  }

  async redriveCall(dispatchId: string, now: number): Promise<ChangeResult> {
    this.writable()
    const row = this.db.transaction(() => {
      const redriven = rowOf(this.statements.redrive.get({ id: dispatchId, now }))
      if (redriven !== undefined) this.statements.deleteResults.run(dispatchId)
      return redriven
    })()
    return this.changeResult(dispatchId, await this.durable(row))
  }

  async signalCall(dispatchId: string, signal: AnyMessage, now: number): Promise<ChangeResult> {
    this.writable()
    const row = this.db.transaction(() => {
      const s = this.statements
      const live = s.report.get({ parent: dispatchId, epoch: null, now }) as { id: string; epoch: number } | undefined
      if (live === undefined) return undefined
      s.putResult.run({
        parent: dispatchId,
        epoch: live.epoch,
        child: '',
        correlation_id: null,
        output: JSON.stringify(signal),
        error: null,
        now,
      })
      return rowOf(s.get.get(dispatchId))
    })()
    return this.changeResult(dispatchId, await this.durable(row))
  }

  private async changeResult(dispatchId: string, row: CallRow | undefined): Promise<ChangeResult> {
    if (row !== undefined) return { kind: 'changed', call: this.toCall(row) }
    const call = await this.getCall(dispatchId)
    return call === undefined ? { kind: 'notFound' } : { kind: 'refused', call }
  }

  async releaseLeases(now: number, owner?: string): Promise<number> {
    this.writable()
    const s = this.statements
    return this.durable((owner === undefined ? s.releaseAll.run({ now }) : s.releaseOwner.run({ now, owner })).changes)
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = this.statements.nextDue.get() as { due: number | null }
    return opt(row.due)
  }

  async countCalls(options: CountOptions = {}): Promise<CallCounts[]> {
    const s = this.statements
    await this.settled()
    return (options.unfinishedOnly === true ? s.unfinishedCounts : s.counts).all() as CallCounts[]
  }

  async purgeIdempotencyKeys(before: number): Promise<number> {
    this.writable()
    return this.durable(this.statements.purgeKeys.run(before).changes)
  }

  async purgeFinishedCalls(before: number, limit: number): Promise<number> {
    this.writable()
    if (limit <= 0) return 0
    const s = this.statements
    return this.durable(
      this.db.transaction(() => {
        const ids = (s.purgeFinished.all({ before, limit }) as { id: string }[]).map((r) => r.id)
        if (ids.length > 0) s.deleteResultsOf.run(JSON.stringify(ids))
        return ids.length
      })(),
    )
  }

  // Schedules (docs/flow-control.md): a tick's call is inserted in the transaction that moves the
  // schedule's next tick on, so a crash either fires the tick or leaves it to fire again.
  async syncSchedules(schedules: readonly ScheduleSync[], now: number): Promise<void> {
    this.writable()
    this.db.transaction(() => this.schedules.sync(schedules, now))()
    await this.durable(undefined)
  }

  async listSchedules(): Promise<StoredSchedule[]> {
    await this.settled()
    return this.schedules.list()
  }

  async fireSchedule(tick: ScheduleFiring, now: number): Promise<boolean> {
    this.writable()
    const calls = tick.calls.map(storableCall)
    const fired = this.db.transaction(() => {
      if (!this.schedules.advanceFrom(tick, now)) return false
      // The idempotency key (schedule and tick) is kept for inspection and search; the compare-and-set
      // above is what makes the tick fire once.
      for (const call of calls) this.statements.insert.run(insertParams(call))
      return true
    })()
    return this.durable(fired)
  }

  async setSchedulePaused(
    name: string,
    paused: boolean,
    nextTickAt: number | undefined,
    now: number,
  ): Promise<StoredSchedule | undefined> {
    this.writable()
    return this.durable(this.db.transaction(() => this.schedules.setPaused(name, paused, nextTickAt, now))())
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.wal?.close()
    } finally {
      this.db.close()
    }
  }
}

/**
 * Creates the database file readable and writable by its owner only (0600, whatever the umask)
 * unless it exists, and takes group and other permissions off the existing database files. SQLite
 * creates the WAL and journal with the database file's mode, so they are 0600 too. Calls' inputs
 * and outputs are the application's data: other users of the machine have no business reading them.
 */
function ownerOnly(path: string): string[] {
  closeSync(openSync(path, 'a', 0o600))
  const tightened: string[] = []
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let mode: number
    try {
      mode = statSync(file).mode
    } catch {
      continue // that companion file does not exist now
    }
    if ((mode & 0o077) === 0) continue
    try {
      chmodSync(file, mode & 0o700)
      tightened.push(file)
    } catch {
      // Not this user's file: left as it is (SQLite then says whether it can be opened at all).
    }
  }
  return tightened
}

function insertParams(call: NewCall) {
  return {
    id: call.dispatchId,
    function: call.function,
    endpoint: call.endpoint,
    input: json(call.input),
    version: call.version ?? null,
    correlation_id: call.correlationId ?? null,
    max_attempts: call.maxAttempts,
    created_at: call.createdAt,
    due_at: call.dueAt,
    expires_at: call.expiresAt ?? null,
    expiration_ms: call.expirationMs ?? null,
    fairness_key: call.fairnessKey ?? null,
    idempotency_key: call.idempotencyKey ?? null,
    parent_id: call.parentDispatchId ?? null,
    root_id: call.rootDispatchId ?? null,
    parent_epoch: null as number | null,
    traceparent: call.traceparent ?? null,
    detached: call.detached === true ? 1 : 0,
    priority: call.priority ?? 0,
    // A rate-limited call is a capped call: a key ('' without a concurrency limit) marks it.
    concurrency_key: call.concurrency?.key ?? (call.rateLimit === undefined ? null : ''),
    concurrency_limit: call.concurrency?.limit ?? null,
    rate_key: call.rateLimit?.key ?? null,
    rate_limit: call.rateLimit?.limit ?? null,
    rate_period_ms: call.rateLimit?.periodMs ?? null,
  }
}

const TREE = `WITH RECURSIVE tree(id) AS (
      SELECT id FROM calls WHERE parent_id = @id
      UNION ALL SELECT c.id FROM calls AS c JOIN tree ON c.parent_id = tree.id
    )`

/** The tree below a call but for its detached children and theirs (what the call's exit cancels). */
const ATTACHED_TREE = `WITH RECURSIVE tree(id) AS (
      SELECT id FROM calls WHERE parent_id = @id AND detached = 0
      UNION ALL SELECT c.id FROM calls AS c JOIN tree ON c.parent_id = tree.id
    )`

function prepare(db: Database.Database) {
  const claimFrom = (extra: string) => `
    UPDATE calls SET state = 'running', attempts = attempts + 1, lease_owner = @owner, due_at = @until, updated_at = @now
    WHERE id IN (
      SELECT id FROM calls WHERE due_at IS NOT NULL AND due_at <= @now AND concurrency_key IS NULL ${extra}
      ORDER BY due_at LIMIT @limit
    )
    RETURNING ${CALL_ROW_SQL}`
  return {
    syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    syncFull: db.prepare('PRAGMA synchronous = FULL'),
    findKey: db.prepare(
      'SELECT dispatch_id, created_at, input_hash FROM idempotency_keys WHERE key = ? AND function = ? AND endpoint = ?',
    ),
    putKey: db.prepare(`
      INSERT OR REPLACE INTO idempotency_keys (key, function, endpoint, dispatch_id, input_hash, created_at)
      VALUES (?, ?, ?, ?, ?, ?)`),
    purgeKeys: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
    insert: db.prepare(`
      INSERT INTO calls (id, function, endpoint, input, version, correlation_id, state, max_attempts, created_at,
        updated_at, due_at, expires_at, expiration_ms, fairness_key, idempotency_key, parent_id, root_id, parent_epoch,
        traceparent, detached, priority, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms)
      VALUES (@id, @function, @endpoint, @input, @version, @correlation_id, 'pending', @max_attempts, @created_at,
        @created_at, @due_at, @expires_at, @expiration_ms, @fairness_key, @idempotency_key, @parent_id, @root_id,
        @parent_epoch, @traceparent, @detached, @priority, @concurrency_key, @concurrency_limit, @rate_key, @rate_limit,
        @rate_period_ms)`),
    claim: db.prepare(claimFrom('')).raw(true),
    claimCapped: db.prepare(SQLITE_CLAIM_CAPPED).raw(true),
    pruneRateStarts: db.prepare('DELETE FROM rate_starts WHERE expires_at <= ?'),
    nextRateOpening: db.prepare('SELECT MIN(expires_at) AS at FROM rate_starts WHERE expires_at > ?'),
    rateStart: db.prepare('INSERT INTO rate_starts (function, rate_key, expires_at) VALUES (?, ?, ?)'),
    claimQueue: db
      .prepare(claimFrom('AND endpoint = @endpoint AND function = @function AND fairness_key IS @fairness_key'))
      .raw(true),
    finish: db.prepare(`
      UPDATE calls SET state = @state, status = @status, output = @output, error = @error, due_at = NULL,
        lease_owner = NULL, updated_at = @now, ${NO_POLL}
      WHERE ${CLAIM_HELD}
      RETURNING id, parent_id, parent_epoch, correlation_id, state, status, output, error`),
    retry: db.prepare(`
      UPDATE calls SET state = 'pending', status = @status, output = NULL, error = @error, due_at = @due_at,
        lease_owner = NULL, updated_at = @now
      WHERE ${CLAIM_HELD}`),
    // SQLite evaluates every right-hand side against the old row, so origin_* capture the call as it was.
    tailCall: db.prepare(`
      UPDATE calls SET state = 'pending', status = @status, attempts = 0, output = NULL, error = NULL,
        origin_input = CASE WHEN origin_function IS NULL THEN input ELSE origin_input END,
        origin_function = COALESCE(origin_function, function),
        origin_endpoint = COALESCE(origin_endpoint, endpoint),
        function = @function, endpoint = @endpoint, input = @input, version = @version,
        expires_at = COALESCE(@expires_at, expires_at), expiration_ms = COALESCE(@expiration_ms, expiration_ms),
        due_at = @now, lease_owner = NULL, updated_at = @now, ${NO_POLL}, epoch = epoch + 1, restarts = 0
      WHERE ${CLAIM_HELD}`),
    // A Poll suspends the call; its due time is set by suspendedDue once the results are counted.
    suspend: db.prepare(`
      UPDATE calls SET state = 'suspended', status = @status, attempts = restarts, output = NULL, error = NULL,
        poll_state = '', min_results = @min_results, max_results = @max_results,
        poll_deadline = @poll_deadline, poll_error = @poll_error, due_at = NULL, lease_owner = NULL, updated_at = @now
      WHERE ${CLAIM_HELD}
      RETURNING id, epoch, expires_at`),
    putPollState: db.prepare(`
      INSERT INTO poll_states (call_id, state) VALUES (@id, @state)
      ON CONFLICT (call_id) DO UPDATE SET state = excluded.state`),
    pollState: db.prepare('SELECT state FROM poll_states WHERE call_id = ?'),
    suspendedDue: db.prepare('UPDATE calls SET results_waiting = @waiting, due_at = @due_at WHERE id = @id'),
    restart: db.prepare(`
      UPDATE calls SET state = 'pending', status = @status, output = NULL, error = @error, ${NO_POLL},
        epoch = epoch + 1, restarts = restarts + 1, due_at = @now, lease_owner = NULL, updated_at = @now
      WHERE ${CLAIM_HELD}`),
    // A child's result for a live parent of the same epoch; a suspended parent with enough is due now.
    report: db.prepare(`
      UPDATE calls SET results_waiting = results_waiting + 1,
        due_at = CASE WHEN state = 'suspended' AND results_waiting + 1 >= min_results
          AND (due_at IS NULL OR due_at > @now) THEN @now ELSE due_at END
      WHERE id = @parent AND (@epoch IS NULL OR epoch = @epoch) AND state IN ${LIVE}
      RETURNING id, epoch`),
    putResult: db.prepare(`
      INSERT INTO call_results (parent_id, epoch, child_id, correlation_id, output, error, created_at)
      VALUES (@parent, @epoch, @child, @correlation_id, @output, @error, @now)`),
    waitingResults: db.prepare(
      'SELECT * FROM call_results WHERE parent_id = @parent AND epoch = @epoch ORDER BY seq LIMIT @limit',
    ),
    countResults: db.prepare(
      'SELECT COUNT(*) AS waiting FROM call_results WHERE parent_id = @parent AND epoch = @epoch',
    ),
    consumeResults: db.prepare(
      'DELETE FROM call_results WHERE parent_id = @parent AND seq IN (SELECT value FROM json_each(@seqs))',
    ),
    deleteResults: db.prepare('DELETE FROM call_results WHERE parent_id = ?'),
    deleteResultsOf: db.prepare('DELETE FROM call_results WHERE parent_id IN (SELECT value FROM json_each(?))'),
    // Oldest finished calls first, skipping those whose parent or root is live. INDEXED BY: without
    // statistics SQLite would pick calls_state and sort every finished call for each batch.
    purgeFinished: db.prepare(`
      DELETE FROM calls WHERE id IN (
        SELECT c.id FROM calls AS c INDEXED BY calls_finished
        WHERE c.state IN ${FINISHED} AND c.updated_at < @before
          AND NOT EXISTS (SELECT 1 FROM calls AS p WHERE p.id = c.parent_id AND p.state IN ${LIVE})
          AND NOT EXISTS (SELECT 1 FROM calls AS r WHERE r.id = c.root_id AND r.state IN ${LIVE})
        ORDER BY c.updated_at LIMIT @limit
      )
      RETURNING id`),
    cancelTree: db.prepare(`${TREE}
      UPDATE calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = @now, ${NO_POLL}
      WHERE id IN (SELECT id FROM tree) AND state IN ${LIVE}`),
    deleteTreeResults: db.prepare(`${TREE}
      DELETE FROM call_results WHERE parent_id IN (SELECT id FROM tree)`),
    cancelAttachedTree: db.prepare(`${ATTACHED_TREE}
      UPDATE calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = @now, ${NO_POLL}
      WHERE id IN (SELECT id FROM tree) AND state IN ${LIVE}`),
    deleteAttachedTreeResults: db.prepare(`${ATTACHED_TREE}
      DELETE FROM call_results WHERE parent_id IN (SELECT id FROM tree)`),
    putAttempt: db.prepare(`
      INSERT INTO call_attempts (call_id, attempt, started_at, finished_at, status, outcome, error)
      VALUES (@id, @attempt, @started_at, @finished_at, @status, @outcome, @error)`),
    trimAttempts: db.prepare(`
      DELETE FROM call_attempts WHERE call_id = @id AND seq <= (
        SELECT seq FROM call_attempts WHERE call_id = @id ORDER BY seq DESC LIMIT 1 OFFSET @keep
      )`),
    attempts: db.prepare(`SELECT ${ATTEMPT_COLUMNS} FROM call_attempts WHERE call_id = ? ORDER BY seq`),
    get: db.prepare(`SELECT ${CALL_ROW_SQL} FROM calls WHERE id = ?`).raw(true),
    getMany: db.prepare(`SELECT ${CALL_ROW_SQL} FROM calls WHERE id IN (SELECT value FROM json_each(?))`).raw(true),
    dueQueuesOf: db.prepare(`
      SELECT DISTINCT endpoint, function, fairness_key FROM calls
      WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'suspended' AND due_at <= @now`),
    cancel: db
      .prepare(`
      UPDATE calls SET state = 'cancelled', due_at = NULL, lease_owner = NULL, updated_at = @now, ${NO_POLL}
      WHERE id = @id AND state IN ${LIVE}
      RETURNING ${CALL_ROW_SQL}`)
      .raw(true),
    redrive: db
      .prepare(`
      UPDATE calls SET state = 'pending', status = NULL, attempts = 0, output = NULL, error = NULL,
        function = COALESCE(origin_function, function), endpoint = COALESCE(origin_endpoint, endpoint),
        input = CASE WHEN origin_function IS NULL THEN input ELSE origin_input END,
        origin_function = NULL, origin_endpoint = NULL, origin_input = NULL,
        expires_at = CASE WHEN expiration_ms IS NULL THEN NULL ELSE @now + expiration_ms END,
        due_at = @now, lease_owner = NULL, updated_at = @now,
        ${NO_POLL}, epoch = epoch + 1, restarts = 0, parent_epoch = NULL
      WHERE id = @id AND state IN ('failed', 'cancelled')
      RETURNING ${CALL_ROW_SQL}`)
      .raw(true),
    releaseAll: db.prepare(
      "UPDATE calls SET state = 'pending', due_at = @now, lease_owner = NULL, updated_at = @now WHERE state = 'running'",
    ),
    releaseOwner: db.prepare(`
      UPDATE calls SET state = 'pending', due_at = @now, lease_owner = NULL, updated_at = @now
      WHERE state = 'running' AND lease_owner = @owner`),
    dueQueues: db.prepare(`
      SELECT endpoint, function, fairness_key FROM calls WHERE due_at IS NOT NULL AND due_at <= @now
      GROUP BY endpoint, function, fairness_key LIMIT @limit`),
    nextDue: db.prepare('SELECT MIN(due_at) AS due FROM calls WHERE due_at IS NOT NULL'),
    backlog: db.prepare(backlogSql('calls', '@now', '@limit')),
    counts: db.prepare(`
      SELECT function, state, COUNT(*) AS count,
        SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END) AS retrying
      FROM calls GROUP BY function, state ORDER BY function, state`),
    unfinishedCounts: db.prepare(`
      SELECT function, state, COUNT(*) AS count,
        SUM(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END) AS retrying
      FROM calls WHERE state IN ('pending', 'running', 'suspended')
      GROUP BY function, state ORDER BY function, state`),
  }
}

/** Opens (creating it and its folder if needed) the SQLite store at `path`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, options)
}

/** A raw row of {@link CALL_ROW_SQL} as an object; undefined stays undefined. */
function rowOf(values: unknown): CallRow | undefined {
  return values === undefined ? undefined : callRowOf(values as unknown[])
}
