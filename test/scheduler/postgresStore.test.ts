import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { claimCappedStatement } from '../../scheduler/store/postgresCappedClaim.js'
import { claimQueuesStatement, claimStatement } from '../../scheduler/store/postgresClaim.js'
import { completeStatement } from '../../scheduler/store/postgresComplete.js'
import { POSTGRES_MIGRATIONS } from '../../scheduler/store/postgresSchema.js'
import { openPostgresStore, type PostgresStore } from '../../scheduler/store/postgresStore.js'
import type { CappedClaimRequest, NewCall } from '../../scheduler/store/store.js'
import { attemptsConformance } from './attemptsConformance.js'
import { debounceConformance } from './debounceConformance.js'
import { flowConformance } from './flowConformance.js'
import { idempotencyConformance } from './idempotencyConformance.js'
import { listConformance } from './listConformance.js'
import { T0 } from './newCall.js'
import { poisonConformance } from './poisonConformance.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'
import { retentionConformance } from './retentionConformance.js'
import { newCall, storeConformance } from './storeConformance.js'

// Every run works in schemas of its own (random names), dropped at the end.
const run = `dispatch_test_${randomBytes(4).toString('hex')}`
const schemas = new Set<string>()
let n = 0
async function freshStore(schema = `${run}_${n++}`): Promise<PostgresStore> {
  schemas.add(schema)
  return openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 4 })
}
afterAll(async () => {
  for (const schema of schemas) {
    const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
    await store.dropSchema()
    await store.close()
  }
})

flowConformance('PostgreSQL', () => freshStore(), {
  // A second node: another store (its own pool) on the same schema.
  secondNode: (store) => freshStore((store as PostgresStore).schema),
  examinedRows: (store, request) => rowsOfCallsRead((store as PostgresStore).schema, request),
})

debounceConformance('PostgreSQL', () => freshStore(), {
  secondNode: (store) => freshStore((store as PostgresStore).schema),
})

/** Rows of `calls` the capped claim reads, from its plan as run (EXPLAIN ANALYZE, rolled back). */
async function rowsOfCallsRead(schema: string, request: CappedClaimRequest): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL })
  await client.connect()
  try {
    await client.query('BEGIN')
    const claim = claimCappedStatement(schema, request)
    const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${claim.text}`, claim.values)
    await client.query('ROLLBACK')
    interface PlanNode {
      'Relation Name'?: string
      'Actual Rows'?: number
      'Actual Loops'?: number
      'Rows Removed by Filter'?: number
      Plans?: PlanNode[]
    }
    let read = 0
    const walk = (node: PlanNode) => {
      if (node['Relation Name'] === 'calls') {
        read += ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
      }
      for (const child of node.Plans ?? []) walk(child)
    }
    walk((rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan)
    return read
  } finally {
    await client.end()
  }
}

storeConformance('PostgreSQL', () => freshStore(), {
  reopen: async (store) => {
    const schema = (store as PostgresStore).schema
    await store.close()
    return freshStore(schema)
  },
})

/** A schema at version 2 (keys not yet scoped) holding `call` and its key, then opened by this version. */
async function migratedFromUnscoped(call: NewCall): Promise<PostgresStore> {
  const schema = `${run}_${n++}`
  schemas.add(schema)
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL })
  await client.connect()
  try {
    const s = `"${schema}"`
    await client.query(`CREATE SCHEMA ${s}`)
    await client.query(
      `CREATE TABLE ${s}.schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    )
    for (const [i, migration] of POSTGRES_MIGRATIONS.slice(0, 2).entries()) {
      await client.query(migration(s))
      await client.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [i + 1])
    }
    await client.query(
      `INSERT INTO ${s}.calls (id, function, endpoint, input, state, max_attempts, created_at, updated_at, due_at,
         idempotency_key) VALUES ($1, $2, $3, $4, 'pending', 3, $5, $5, $6, $7)`,
      [
        call.dispatchId,
        call.function,
        call.endpoint,
        JSON.stringify(call.input),
        call.createdAt,
        call.dueAt,
        call.idempotencyKey,
      ],
    )
    await client.query(`INSERT INTO ${s}.idempotency_keys (key, dispatch_id, created_at) VALUES ($1, $2, $3)`, [
      call.idempotencyKey,
      call.dispatchId,
      call.createdAt,
    ])
  } finally {
    await client.end()
  }
  return freshStore(schema)
}

listConformance('PostgreSQL', () => freshStore())
idempotencyConformance('PostgreSQL', () => freshStore(), { migratedFromUnscoped })
attemptsConformance('PostgreSQL', () => freshStore())
poisonConformance('PostgreSQL', () => freshStore())
retentionConformance('PostgreSQL', () => freshStore())

describe('PostgreSQL store', () => {
  it('migrates once when several nodes open the same schema together', async () => {
    const schema = `${run}_together`
    const stores = await Promise.all(Array.from({ length: 4 }, () => freshStore(schema)))
    const [first] = stores
    const call = newCall()
    await first!.insertCalls([call], { now: call.createdAt, idempotencyWindowMs: 1000 })
    for (const store of stores) expect((await store.getCall(call.dispatchId))?.dispatchId).toBe(call.dispatchId)
    await Promise.all(stores.map((s) => s.close()))
  })

  it('lists the queues with due calls and claims shares of several queues at once', async () => {
    const store = await freshStore()
    const a = newCall({ function: 'a', fairnessKey: 't1' })
    const b = newCall({ function: 'a' })
    const c = newCall({ function: 'a' })
    const later = newCall({ function: 'z', dueAt: newCall().dueAt + 1000 })
    await store.insertCalls([a, b, c, later], { now: a.createdAt, idempotencyWindowMs: 1000 })
    const queues = await store.dueQueues(a.dueAt, 10)
    expect(queues).toHaveLength(2)
    expect(queues).toEqual(expect.arrayContaining([{ endpoint: a.endpoint, function: 'a', fairnessKey: 't1' }]))
    const claimed = await store.claimQueues({
      now: a.dueAt,
      owner: 'n',
      leaseMs: 1000,
      queues: queues.map((queue) => ({ queue, limit: 1 })),
    })
    expect(claimed).toHaveLength(2)
    expect(claimed.map((x) => x.dispatchId)).toContain(a.dispatchId)
    await store.close()
  })

  it('lists exactly the queues with a call due, whatever mix of fairness keys and states', async () => {
    const store = await freshStore()
    const T = newCall().dueAt
    const calls = Array.from({ length: 400 }, (_, i) =>
      newCall({
        endpoint: `http://127.0.0.1:${9 + (i % 2)}/`,
        function: `f${(i >> 1) % 3}`,
        fairnessKey: [undefined, 'a', 'b', 'c', undefined][(i * 7) % 5],
        dueAt: T + ((i * 13) % 4 === 0 ? 10_000 : -((i * 31) % 100)),
      }),
    )
    // Queues with only later calls, and with only a running call: not due.
    calls.push(newCall({ function: 'later', fairnessKey: 'a', dueAt: T + 5000 }), newCall({ function: 'later' }))
    calls[calls.length - 1] = newCall({ function: 'later', dueAt: T + 5000 })
    calls.push(newCall({ function: 'busy', fairnessKey: 'z', dueAt: T - 1000 }))
    await store.insertCalls(calls, { now: T, idempotencyWindowMs: 1000 })
    await store.claimCalls({
      now: T,
      limit: 1,
      owner: 'n',
      leaseMs: 60_000,
      queue: { endpoint: calls[0]!.endpoint, function: 'busy', fairnessKey: 'z' },
    })
    // Some running (leased past T) and some finished: neither makes its queue due.
    const running = await store.claimCalls({ now: T, limit: 120, owner: 'n', leaseMs: 60_000 })
    await store.completeAttempts(
      running.slice(0, 60).map((c) => ({
        kind: 'succeeded' as const,
        dispatchId: c.dispatchId,
        attempt: 1,
        owner: 'n',
        now: T,
        status: 'STATUS_OK' as const,
        output: undefined,
        error: undefined,
      })),
    )
    const key = (q: { endpoint: string; function: string; fairnessKey: string | undefined }) =>
      JSON.stringify([q.endpoint, q.function, q.fairnessKey ?? null])
    const all = (await store.listCalls({ limit: 1000 })).calls
    const expected = new Set(all.filter((c) => c.state === 'pending' && c.dueAt !== undefined && c.dueAt <= T).map(key))
    const listed = await store.dueQueues(T, 1000)
    expect(new Set(listed.map(key))).toEqual(expected)
    expect(listed).toHaveLength(expected.size)
    expect(expected.size).toBeGreaterThan(10)
    expect(listed.some((q) => q.function === 'later' || q.function === 'busy')).toBe(false)
    expect(await store.dueQueues(T, 2)).toHaveLength(Math.min(2, expected.size))
    await store.close()
  })

  it('renews the leases an owner still holds, and only those', async () => {
    const store = await freshStore()
    const [a, b, c] = [newCall(), newCall(), newCall()]
    await store.insertCalls([a, b, c], { now: a.createdAt, idempotencyWindowMs: 1000 })
    const t = a.dueAt
    await store.claimCalls({ now: t, limit: 2, owner: 'n1', leaseMs: 100 })
    const [other] = await store.claimCalls({ now: t, limit: 1, owner: 'n2', leaseMs: 100 })
    const mine = (await store.listCalls({ limit: 10, state: 'running' })).calls.filter((x) => x.leaseOwner === 'n1')
    const renewed = await store.renewLeases('n1', [
      ...mine.map((x) => ({ dispatchId: x.dispatchId, attempt: 1, until: t + 5000 })),
      { dispatchId: other!.dispatchId, attempt: 1, until: t + 5000 }, // n2's: untouched
      { dispatchId: mine[0]!.dispatchId, attempt: 2, until: t + 9000 }, // another attempt: untouched
    ])
    expect(renewed).toBe(2)
    // After the short lease, only n2's call is claimable again; n1's were renewed.
    const again = await store.claimCalls({ now: t + 200, limit: 10, owner: 'n3', leaseMs: 100 })
    expect(again.map((x) => x.dispatchId)).toEqual([other!.dispatchId])
    expect((await store.getCall(mine[0]!.dispatchId))?.dueAt).toBe(t + 5000)
    await store.close()
  })

  it('renewal skips a lease whose row another transaction holds (no wait, no deadlock with a completion)', async () => {
    const store = await freshStore()
    const [a, b] = [newCall(), newCall()]
    await store.insertCalls([a, b], { now: a.createdAt, idempotencyWindowMs: 1000 })
    const t = a.dueAt
    const claimed = await store.claimCalls({ now: t, limit: 2, owner: 'n1', leaseMs: 100 })
    const locker = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      await locker.query(`SELECT 1 FROM "${store.schema}".calls WHERE id = $1 FOR UPDATE`, [claimed[0]!.dispatchId])
      const leases = claimed.map((x) => ({ dispatchId: x.dispatchId, attempt: 1, until: t + 5000 }))
      expect(await store.renewLeases('n1', leases)).toBe(1)
      await locker.query('ROLLBACK')
      expect(await store.renewLeases('n1', leases)).toBe(2)
    } finally {
      await locker.end()
      await store.close()
    }
  })

  it('purging a finished call deletes its attempt history with it', async () => {
    const store = await freshStore()
    const [done, kept] = [newCall(), newCall()]
    await store.insertCalls([done, kept], { now: T0, idempotencyWindowMs: 1000 })
    const claimed = await store.claimCalls({ now: T0, limit: 2, owner: 'n1', leaseMs: 1000 })
    expect(claimed).toHaveLength(2)
    const outcome = (dispatchId: string, kind: 'succeeded' | 'retry') =>
      kind === 'succeeded'
        ? {
            dispatchId,
            attempt: 1,
            owner: 'n1',
            now: T0 + 1,
            status: 'STATUS_OK' as const,
            kind,
            output: undefined,
            error: undefined,
          }
        : {
            dispatchId,
            attempt: 1,
            owner: 'n1',
            now: T0 + 1,
            status: 'STATUS_TEMPORARY_ERROR' as const,
            kind,
            dueAt: T0 + 10,
            error: undefined,
          }
    expect(
      await store.completeAttempts([outcome(done.dispatchId, 'succeeded'), outcome(kept.dispatchId, 'retry')]),
    ).toEqual([true, true])
    expect(await store.purgeFinishedCalls(T0 + 2, 10)).toBe(1)
    const client = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await client.connect()
    try {
      const { rows } = await client.query<{ call_id: string }>(`SELECT call_id FROM "${store.schema}".call_attempts`)
      expect(rows.map((r) => r.call_id)).toEqual([kept.dispatchId])
    } finally {
      await client.end()
      await store.close()
    }
  })

  it('a completion, a prepared statement, finds its calls by key under a generic plan as under a custom one', async () => {
    const store = await freshStore()
    for (let i = 0; i < 5; i++) {
      await store.insertCalls(
        Array.from({ length: 1000 }, () => newCall()),
        { now: T0, idempotencyWindowMs: 1000 },
      )
    }
    await store.claimCalls({ now: T0, limit: 200, owner: 'n0', leaseMs: 60_000 })
    const claimed = await store.claimCalls({ now: T0, limit: 40, owner: 'n1', leaseMs: 60_000 })
    const outcomes = claimed.map((c) => ({
      dispatchId: c.dispatchId,
      attempt: c.attempts,
      owner: 'n1',
      now: T0 + 1,
      status: 'STATUS_OK' as const,
      kind: 'succeeded' as const,
      output: undefined,
      error: undefined,
    }))
    const complete = completeStatement(`"${store.schema}"`, outcomes, [])
    const client = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await client.connect()
    // EXECUTE takes literals: each value as a quoted array (or scalar) literal.
    const literal = (value: unknown) =>
      Array.isArray(value)
        ? client.escapeLiteral(
            `{${value.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`,
          )
        : client.escapeLiteral(String(value))
    try {
      await client.query(`ANALYZE "${store.schema}".calls`)
      for (const mode of ['force_generic_plan', 'force_custom_plan']) {
        await client.query(`SET plan_cache_mode = ${mode}`)
        await client.query(`PREPARE completion AS ${complete.text}`)
        await client.query('BEGIN')
        const { rows } = await client.query(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE completion(${complete.values.map(literal).join(', ')})`,
        )
        await client.query('ROLLBACK')
        await client.query('DEALLOCATE completion')
        interface PlanNode {
          'Node Type': string
          'Relation Name'?: string
          'Actual Rows'?: number
          'Actual Loops'?: number
          'Rows Removed by Filter'?: number
          Plans?: PlanNode[]
        }
        const plan = (rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan
        let read = 0
        const scans: string[] = []
        const walk = (node: PlanNode) => {
          if (node['Relation Name'] === 'calls' && node['Node Type'] !== 'ModifyTable') {
            scans.push(node['Node Type'])
            read += ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
          }
          for (const child of node.Plans ?? []) walk(child)
        }
        walk(plan)
        expect(plan['Actual Rows'], mode).toBe(40)
        expect(scans, mode).not.toContain('Seq Scan')
        // The 40 calls by key, or the 240 running ones by state: never the 5,000 of the table.
        expect(read, mode).toBeLessThan(500)
      }
    } finally {
      await client.end()
      await store.close()
    }
  })

  it('a claim commits without waiting for its WAL flush, and only the claim', async () => {
    const store = await freshStore()
    await store.insertCalls([newCall(), newCall()], { now: T0, idempotencyWindowMs: 1000 })
    const client = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await client.connect()
    const setting = async () =>
      (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit
    try {
      const before = await setting()
      expect(before).not.toBe('off')
      const queue = { endpoint: newCall().endpoint, function: newCall().function, fairnessKey: undefined }
      for (const claim of [
        claimStatement(`"${store.schema}"`, { now: T0, limit: 1, owner: 'n1', leaseMs: 1000 }),
        claimQueuesStatement(`"${store.schema}"`, {
          now: T0,
          owner: 'n1',
          leaseMs: 1000,
          queues: [{ queue, limit: 1 }],
        }),
      ]) {
        await client.query('BEGIN')
        expect((await client.query(claim.text, claim.values)).rows).toHaveLength(1)
        expect(await setting()).toBe('off')
        await client.query('COMMIT')
        expect(await setting()).toBe(before)
      }
    } finally {
      await client.end()
      await store.close()
    }
  })

  it('keeps installations in different schemas apart', async () => {
    const a = await freshStore()
    const b = await freshStore()
    const call = newCall()
    await a.insertCalls([call], { now: call.createdAt, idempotencyWindowMs: 1000 })
    expect(await b.getCall(call.dispatchId)).toBeUndefined()
    expect(await b.claimCalls({ now: call.dueAt, limit: 10, owner: 'b', leaseMs: 1000 })).toEqual([])
    await Promise.all([a.close(), b.close()])
  })

  it('shares settings: the first value stored wins for every node', async () => {
    const schema = `${run}_settings`
    const [a, b] = await Promise.all([freshStore(schema), freshStore(schema)])
    const values = await Promise.all([a!.sharedSetting('k', () => 'from-a'), b!.sharedSetting('k', () => 'from-b')])
    expect(values[0]).toBe(values[1])
    expect(await a!.sharedSetting('k', () => 'later')).toBe(values[0])
    await Promise.all([a!.close(), b!.close()])
  })

  it('wakes listeners of every node on the schema when calls are inserted', async () => {
    const schema = `${run}_notify`
    const [a, b] = await Promise.all([freshStore(schema), freshStore(schema)])
    let woken = 0
    b!.onNewWork(() => woken++)
    // The listener wakes once when it connects; wait for that, then count the insert's wake-up.
    const deadline = Date.now() + 10_000
    while (woken === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    const before = woken
    const call = newCall()
    await a!.insertCalls([call], { now: call.createdAt, idempotencyWindowMs: 1000 })
    while (woken === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(woken).toBeGreaterThan(before)
    await Promise.all([a!.close(), b!.close()])
  })

  it('refuses the public schema and a schema holding unrelated tables (DSP3504), creating nothing in them', async () => {
    await expect(openPostgresStore({ url: POSTGRES_TEST_URL, schema: 'public', poolSize: 1 })).rejects.toMatchObject({
      code: 'DSP3504',
    })
    const foreign = `${run}_app`
    const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await admin.connect()
    try {
      await admin.query(`CREATE SCHEMA "${foreign}"`)
      await admin.query(`CREATE TABLE "${foreign}".users (id INTEGER PRIMARY KEY)`)
      const error = await openPostgresStore({ url: POSTGRES_TEST_URL, schema: foreign, poolSize: 1 }).then(
        () => new Error('opened'),
        (e: unknown) => e as Error & { code?: string; hint?: string },
      )
      expect(error).toMatchObject({ code: 'DSP3504' })
      expect(error.message).toContain('users')
      expect(error.message).toContain(foreign)
      const { rows } = await admin.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [foreign],
      )
      expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual(['users'])
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${foreign}" CASCADE`)
      await admin.end()
    }
  })

  it('a schema a newer version migrated (with tables this version does not know) is DSP3503, not foreign', async () => {
    const schema = `${run}_newer`
    const first = await freshStore(schema)
    await first.close()
    const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await admin.connect()
    try {
      await admin.query(`CREATE TABLE "${schema}".added_later (id INTEGER PRIMARY KEY)`)
      await admin.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [
        POSTGRES_MIGRATIONS.length + 1,
      ])
    } finally {
      await admin.end()
    }
    try {
      await expect(openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })).rejects.toMatchObject({
        code: 'DSP3503',
      })
    } finally {
      // This version cannot open it any more: dropped here rather than by the cleanup at the end.
      schemas.delete(schema)
      const cleanup = new pg.Client({ connectionString: POSTGRES_TEST_URL })
      await cleanup.connect()
      await cleanup.query(`DROP SCHEMA "${schema}" CASCADE`)
      await cleanup.end()
    }
  })

  it('accepts an empty schema made beforehand, and its own schema when it opens it again', async () => {
    const schema = `${run}_empty`
    const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await admin.connect()
    await admin.query(`CREATE SCHEMA "${schema}"`)
    await admin.end()
    const first = await freshStore(schema)
    await first.sharedSetting('k', () => 'v')
    await first.close()
    const again = await freshStore(schema)
    expect(await again.sharedSetting('k', () => 'other')).toBe('v')
    await again.close()
  })

  it('refuses a bad URL or schema name without revealing the password', async () => {
    await expect(openPostgresStore({ url: 'mysql://u:secret@h/db' })).rejects.toMatchObject({ code: 'DSP3501' })
    await expect(openPostgresStore({ url: POSTGRES_TEST_URL, schema: 'no-dashes' })).rejects.toMatchObject({
      code: 'DSP3501',
    })
    const error = (await openPostgresStore({ url: 'postgres://u:secret@127.0.0.1:1/db', connectRetryMs: 0 }).then(
      () => new Error('opened'),
      (e: unknown) => e,
    )) as Error & { code: string }
    expect(error).toMatchObject({ code: 'DSP3502' })
    expect(error.message).not.toContain('secret')
    expect(error.message).toContain('***')
  })
})
