import { fdatasync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { CALL_ROW_COLUMNS, CALL_ROW_SQL, callRowOf } from '../../scheduler/store/callRowValues.js'
import { SQLITE_CLAIM_CAPPED } from '../../scheduler/store/sqliteCappedClaim.js'
import { SQLITE_MIGRATIONS } from '../../scheduler/store/sqliteSchema.js'
import { openSqliteStore, type SqliteStore } from '../../scheduler/store/sqliteStore.js'
import type { NewCall } from '../../scheduler/store/store.js'
import { WalSync } from '../../scheduler/store/walSync.js'
import { attemptsConformance } from './attemptsConformance.js'
import { debounceConformance } from './debounceConformance.js'
import { flowConformance } from './flowConformance.js'
import { idempotencyConformance } from './idempotencyConformance.js'
import { listConformance } from './listConformance.js'
import { newCall, T0 } from './newCall.js'
import { poisonConformance } from './poisonConformance.js'
import { retentionConformance } from './retentionConformance.js'
import { storeConformance } from './storeConformance.js'

const folders: string[] = []
async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dispatch-sqlite-'))
  folders.push(dir)
  return join(dir, 'nested', 'dispatch.db')
}
afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })))
})

storeConformance('SQLite', async () => openSqliteStore(await freshPath()), {
  reopen: async (store) => {
    const path = (store as SqliteStore).path
    await store.close()
    return openSqliteStore(path)
  },
})

/** A database at schema version 3 (keys not yet scoped) holding `call` and its key, then opened by this version. */
async function migratedFromUnscoped(call: NewCall): Promise<SqliteStore> {
  const path = await freshPath()
  await openSqliteStore(path).close() // creates the folder
  await rm(path, { force: true })
  const db = new Database(path)
  for (const migration of SQLITE_MIGRATIONS.slice(0, 3)) db.exec(migration)
  db.pragma('user_version = 3')
  db.prepare(
    `INSERT INTO calls (id, function, endpoint, input, state, max_attempts, created_at, updated_at, due_at, idempotency_key)
     VALUES (?, ?, ?, ?, 'pending', 3, ?, ?, ?, ?)`,
  ).run(
    call.dispatchId,
    call.function,
    call.endpoint,
    JSON.stringify(call.input),
    call.createdAt,
    call.createdAt,
    call.dueAt,
    call.idempotencyKey,
  )
  db.prepare('INSERT INTO idempotency_keys (key, dispatch_id, created_at) VALUES (?, ?, ?)').run(
    call.idempotencyKey,
    call.dispatchId,
    call.createdAt,
  )
  db.close()
  return openSqliteStore(path)
}

listConformance('SQLite', async () => openSqliteStore(await freshPath()))
idempotencyConformance('SQLite', async () => openSqliteStore(await freshPath()), { migratedFromUnscoped })
attemptsConformance('SQLite', async () => openSqliteStore(await freshPath()))
poisonConformance('SQLite', async () => openSqliteStore(await freshPath()))
retentionConformance('SQLite', async () => openSqliteStore(await freshPath()))

// The test environment's store: the same code on a database of this process (':memory:').
const IN_MEMORY = 'SQLite in memory'
storeConformance(IN_MEMORY, () => openSqliteStore(':memory:'))
listConformance(IN_MEMORY, () => openSqliteStore(':memory:'))
attemptsConformance(IN_MEMORY, () => openSqliteStore(':memory:'))
poisonConformance(IN_MEMORY, () => openSqliteStore(':memory:'))
retentionConformance(IN_MEMORY, () => openSqliteStore(':memory:'))
flowConformance('SQLite', async () => openSqliteStore(await freshPath()))
debounceConformance('SQLite', async () => openSqliteStore(await freshPath()))

describe('SQLite store', () => {
  it('refuses a second process-level opener of the same file while the first holds it', async () => {
    const path = await freshPath()
    const first = openSqliteStore(path)
    expect(() => openSqliteStore(path, { busyTimeoutMs: 50 })).toThrow(/DSP3002|in use/)
    try {
      openSqliteStore(path, { busyTimeoutMs: 50 })
    } catch (e) {
      expect((e as { code?: string }).code).toBe('DSP3002')
    }
    await first.close()
    const second = openSqliteStore(path)
    await second.close()
  })

  it('moves the states of suspended coroutines out of their rows when it migrates, and drops each with its Poll', async () => {
    const path = await freshPath()
    await openSqliteStore(path).close() // creates the folder
    await rm(path, { force: true })
    const before = SQLITE_MIGRATIONS.length - 1
    const db = new Database(path)
    for (const migration of SQLITE_MIGRATIONS.slice(0, before)) db.exec(migration)
    db.pragma(`user_version = ${before}`)
    const parent = newCall({ function: 'parent' })
    const state = JSON.stringify({ coroutineState: 'c3RhdGU=' })
    db.prepare(
      `INSERT INTO calls (id, function, endpoint, input, state, max_attempts, created_at, updated_at, due_at,
         poll_state, min_results, max_results, results_waiting)
       VALUES (?, ?, ?, ?, 'suspended', 3, ?, ?, ?, ?, 1, 10, 0)`,
    ).run(parent.dispatchId, parent.function, parent.endpoint, '[]', T0, T0, T0, state)
    db.close()
    const store = openSqliteStore(path)
    expect((await store.getCall(parent.dispatchId))?.poll?.state).toEqual({ coroutineState: 'c3RhdGU=' })
    const [resumed] = await store.claimCalls({ now: T0, limit: 10, owner: 'a', leaseMs: 30_000 })
    expect(resumed?.poll?.state).toEqual({ coroutineState: 'c3RhdGU=' })
    const done = { dispatchId: parent.dispatchId, attempt: resumed!.attempts, owner: 'a', now: T0 + 1 }
    const exit = { ...done, kind: 'succeeded', status: 'STATUS_OK', output: undefined, error: undefined } as const
    expect(await store.completeAttempts([exit])).toEqual([true])
    expect((await store.getCall(parent.dispatchId))?.poll).toBeUndefined()
    await store.close()
    const after = new Database(path)
    const rows = (after.prepare('SELECT poll_state FROM calls').all() as { poll_state: string | null }[]).map(
      (r) => r.poll_state,
    )
    const states = after.prepare('SELECT COUNT(*) AS n FROM poll_states').get() as { n: number }
    after.close()
    expect(rows).toEqual([null])
    expect(states.n).toBe(0)
  })
})

describe('SQLite store: capped claims', () => {
  it('reads a capped backlog by index seeks to the heads of each group, never a scan of the calls', async () => {
    const path = await freshPath()
    await openSqliteStore(path).close()
    const db = new Database(path, { readonly: true })
    try {
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${SQLITE_CLAIM_CAPPED}`)
        .all({ now: 0, limit: 100, owner: 'node-a', until: 1, turns: '[]', costs: '{}' }) as { detail: string }[]
      const reads = plan.map((row) => row.detail).filter((d) => /^(SCAN|SEARCH) (calls|[cnprx])\b/.test(d))
      // The one scan is the walk's first step (LIMIT 1 in the index order); every other read is a seek.
      expect(reads.filter((d) => d.startsWith('SCAN'))).toEqual(['SCAN c USING COVERING INDEX calls_capped_heads'])
      // Each group's first calls, read on the whole group's prefix and in due order (at most @limit).
      expect(reads).toContain(
        'SEARCH x USING COVERING INDEX calls_capped_heads (function=? AND concurrency_key=? AND <expr>=? AND endpoint=? AND fairness_key=? AND due_at>? AND due_at<?)',
      )
      // The walk from a group to the next: equalities on a prefix and one range, never a range on the
      // first column alone that would read through a large group.
      for (const seek of reads.filter((d) => d.startsWith('SEARCH n'))) {
        expect(seek).toMatch(
          /\((function=\? AND )?(concurrency_key=\? AND )?(<expr>=\? AND )?(endpoint=\? AND )?(\w+|<expr>)>\?\)$/,
        )
      }
      expect(reads.filter((d) => d.startsWith('SEARCH n'))).toHaveLength(6)
    } finally {
      db.close()
    }
  })
})

describe('SQLite store: the migration of capped calls by group', () => {
  it("reads an earlier version's rate-limited calls by rate key: a backlog of one key hides no other", async () => {
    const path = await freshPath()
    await openSqliteStore(path).close() // creates the folder
    await rm(path, { force: true })
    const db = new Database(path)
    const before = SQLITE_MIGRATIONS.findIndex((m) => m.includes('calls_capped_heads'))
    for (const migration of SQLITE_MIGRATIONS.slice(0, before)) db.exec(migration)
    db.pragma(`user_version = ${before}`)
    // Written as the earlier version did: a rate-limited call without a concurrency limit under key ''.
    const insert = db.prepare(
      `INSERT INTO calls (id, function, endpoint, input, state, max_attempts, created_at, updated_at, due_at,
         concurrency_key, rate_key, rate_limit, rate_period_ms)
       VALUES (?, 'publish', 'http://127.0.0.1:9/', '{}', 'pending', 3, ?, ?, ?, '', ?, 1, 3600000)`,
    )
    const backlog = Array.from({ length: 150 }, (_, i) => newCall({ dueAt: T0 - 1_000 + i }))
    for (const call of backlog) insert.run(call.dispatchId, T0, T0, call.dueAt, 'cust-a')
    const other = newCall({ dueAt: T0 })
    insert.run(other.dispatchId, T0, T0, T0, 'cust-b')
    db.close()
    const store = openSqliteStore(path)
    try {
      // A claim reads the first calls of each key: cust-b's call is not behind cust-a's backlog.
      const claimed = await store.claimCapped({ now: T0, limit: 100, owner: 'node-a', leaseMs: 30_000 })
      expect(new Set(claimed.map((c) => c.dispatchId))).toEqual(new Set([backlog[0]!.dispatchId, other.dispatchId]))
      expect(claimed.find((c) => c.dispatchId === other.dispatchId)?.rateLimit).toEqual({
        key: 'cust-b',
        limit: 1,
        periodMs: 3_600_000,
      })
    } finally {
      await store.close()
    }
  })
})

describe('whole call rows read as arrays', () => {
  it('names every column of the migrated table, each read from its own place', async () => {
    const path = await freshPath()
    const store = openSqliteStore(path)
    await store.insertCalls([newCall({ dispatchId: 'row-1', fairnessKey: 'tenant' })], {
      now: T0,
      idempotencyWindowMs: 0,
    })
    await store.close()
    const db = new Database(path)
    try {
      const table = (db.prepare('PRAGMA table_info(calls)').all() as { name: string }[]).map((c) => c.name)
      // A column added by a migration must be added to CALL_ROW_COLUMNS (and callRowOf) too.
      expect([...CALL_ROW_COLUMNS].sort()).toEqual([...table].sort())
      const asObject = db.prepare('SELECT * FROM calls WHERE id = ?').get('row-1') as Record<string, unknown>
      const asArray = db.prepare(`SELECT ${CALL_ROW_SQL} FROM calls WHERE id = ?`).raw(true).get('row-1') as unknown[]
      expect(callRowOf(asArray)).toEqual(asObject)
      // Each key reads its own index: distinct values in every place show a literal out of order.
      const marked = CALL_ROW_COLUMNS.map((_, i) => `value ${i}`)
      const row = callRowOf(marked) as unknown as Record<string, unknown>
      CALL_ROW_COLUMNS.forEach((name, i) => {
        expect(row[name]).toBe(`value ${i}`)
      })
      expect(Object.keys(row)).toHaveLength(CALL_ROW_COLUMNS.length)
    } finally {
      db.close()
    }
  })
})

describe('the WAL synced after the commit (synchronous FULL)', () => {
  /** A FULL store whose syncs go through `sync` (the real fdatasync, held back or failed by the test). */
  async function storeSyncing(sync: ConstructorParameters<typeof WalSync>[1]): Promise<SqliteStore> {
    const store = openSqliteStore(await freshPath())
    Object.assign(store, { wal: new WalSync(`${store.path}-wal`, sync) })
    return store
  }
  const options = () => ({ now: T0, idempotencyWindowMs: 60_000 })

  it('refuses every write after a failed sync, and the call whose sync failed is never shown', async () => {
    let failures = 1
    const store = await storeSyncing((fd, done) => {
      if (failures-- > 0) setImmediate(() => done(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })))
      else fdatasync(fd, done)
    })
    const a = newCall({ idempotencyKey: 'k' })
    await expect(store.insertCalls([a], options())).rejects.toMatchObject({ code: 'EIO' })
    await expect(store.insertCalls([newCall({ idempotencyKey: 'k' })], options())).rejects.toMatchObject({
      code: 'EIO',
    })
    await expect(store.getCall(a.dispatchId)).rejects.toThrow('restart the scheduler')
    await expect(store.claimCalls({ now: T0 + 10_000, limit: 10, owner: 'o', leaseMs: 1000 })).rejects.toThrow(
      'could not be synced',
    )
    await store.close()
  })

  it('refuses writes once closing, and closes only after the syncs in flight', async () => {
    const store = await storeSyncing((fd, done) => setImmediate(() => fdatasync(fd, done)))
    const first = store.insertCalls([newCall()], options())
    const closing = store.close()
    await expect(store.insertCalls([newCall()], options())).rejects.toThrow('is closed')
    await first
    await closing
  })

  it('waits for a commit whose listener threw, and keeps the write', async () => {
    const held: (() => void)[] = []
    const store = await storeSyncing((fd, done) => held.push(() => fdatasync(fd, done)))
    const a = newCall()
    const write = store.insertCalls([a], {
      ...options(),
      onCommitted: () => {
        throw new Error('a listener failed')
      },
    })
    const read = store.getCall(a.dispatchId)
    const deadline = Date.now() + 5000
    while (held.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve))
    expect(held).toHaveLength(1) // the commit is synced like any other
    for (const release of held.splice(0)) release()
    expect(await write).toEqual([{ dispatchId: a.dispatchId, inserted: true }])
    expect((await read)?.dispatchId).toBe(a.dispatchId)
    await store.close()
  })
})
