import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import type { CallInfo } from '../../schemas/callService.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'
import { startScriptedEndpoint } from './scriptedEndpoint.js'

/**
 * Poison values in every numeric and time field of a Dispatch, of the CallService's requests and of
 * an endpoint's RunResponse, sent while ordinary calls flow on the same scheduler: each poison call is
 * refused (400 naming the field and the allowed range) or ends failed with a clear error, and every
 * ordinary call completes. Calls an older version stored with such values still read and deliver.
 */

const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'
const SERVICE = '/dispatch.scheduler.v1.CallService'
const TOO_LONG = '9000000000000s' // beyond what a Date can hold once added to now
const WIDE = '\u4e01\u4e8c\u4e09'.repeat(300) // 900 characters, 2,700 bytes in UTF-8: more than PostgreSQL can index

let endpointApp: FastifyInstance
let endpoint: string

beforeAll(async () => {
  const started = await startScriptedEndpoint()
  endpointApp = started.app
  endpoint = started.url
})
afterAll(async () => {
  await endpointApp.close()
})

/** Polls Get until every call is terminal; fails after the deadline naming those that are not. */
async function settleAll(t: TestScheduler, ids: readonly string[], timeoutMs = 40_000): Promise<Map<string, CallInfo>> {
  const done = new Map<string, CallInfo>()
  const deadline = Date.now() + timeoutMs
  while (done.size < ids.length) {
    for (const id of ids) {
      if (done.has(id)) continue
      const answer = await t.post(`${SERVICE}/Get`, { dispatchId: id })
      expect(answer.status, JSON.stringify(answer.body)).toBe(200)
      const call = answer.body.call as CallInfo
      if (['succeeded', 'failed', 'cancelled'].includes(call.state)) done.set(id, call)
    }
    if (done.size < ids.length && Date.now() > deadline) {
      throw new Error(`not terminal within ${timeoutMs} ms: ${ids.filter((id) => !done.has(id)).join(', ')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return done
}

const ordinary = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ endpoint, function: 'ordinary', input: value({ n: i }) }))

describe.each(['SQLite', 'PostgreSQL'])('poison values on %s', (storeName) => {
  const schema = `dispatch_test_poison_${randomBytes(4).toString('hex')}`
  const schemas = [schema]
  let folder: string
  let t: TestScheduler
  const storeOptions = (name: string) =>
    storeName === 'PostgreSQL' ? { postgres: { url: POSTGRES_TEST_URL, schema: name, poolSize: 4 } } : {}

  beforeAll(async () => {
    folder = await tempFolder('dispatch-poison-')
    t = await startTestScheduler(`${folder}/dispatch.db`, storeOptions(schema))
  })
  afterAll(async () => {
    await t?.scheduler.close()
    await removeFolder(folder)
    if (storeName === 'PostgreSQL') {
      for (const name of schemas) {
        const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema: name, poolSize: 1 })
        await store.dropSchema()
        await store.close()
      }
    }
  })

  it('refuses a poison value in any field of a Dispatch with a 400 naming it, while ordinary calls complete', async () => {
    const flowing = await t.dispatch(ordinary(20))
    const poison: [string, Record<string, unknown>, RegExp][] = [
      ['delay too long', { delay: TOO_LONG }, /DSP3010: call 0: delay .*out of range: allowed 0s to 315360000s/],
      ['delay just over', { delay: '315360000.001s' }, /delay .*out of range/],
      ['delay huge', { delay: `${'9'.repeat(400)}s` }, /delay .*(out of range|not a Duration)/],
      ['delay negative', { delay: '-0.5s' }, /DSP3010: call 0: delay must not be negative/],
      [
        'expiration too long',
        { expiration: TOO_LONG },
        /DSP3010: call 0: expiration .*out of range: allowed 0.001s to 315360000s/,
      ],
      ['expiration zero', { expiration: '0s' }, /expiration must be positive/],
      ['expiration under a millisecond', { expiration: '0.0004s' }, /expiration must be positive/],
      [
        'notBefore before year 1',
        { notBefore: '0001-01-01T00:00:00+01:00' },
        /DSP3010: call 0: notBefore .*out of range/,
      ],
      ['notBefore after year 9999', { notBefore: '9999-12-31T23:59:59-01:00' }, /notBefore .*out of range/],
      ['maxAttempts zero', { maxAttempts: 0 }, /maxAttempts/],
      ['maxAttempts too many', { maxAttempts: 10_001 }, /maxAttempts/],
      ['maxAttempts fraction', { maxAttempts: 1.5 }, /maxAttempts/],
      [
        'correlationId over uint64',
        { correlationId: '99999999999999999999' },
        /DSP3013: call 0: correlationId .*out of range/,
      ],
      ['correlationId inexact number', { correlationId: 1e300 }, /DSP3013: call 0: correlationId .*not exact/],
      [
        'NUL in endpoint',
        { endpoint: `${'http://127.0.0.1:9/'}\u0000` },
        /DSP3011: call 0: endpoint must not contain a NUL/,
      ],
      ['NUL in idempotencyKey', { idempotencyKey: 'key\u0000' }, /idempotencyKey must not contain a NUL/],
      ['NUL in fairnessKey', { fairnessKey: '\u0000' }, /fairnessKey must not contain a NUL/],
      ['NUL in version', { version: 'v\u0000' }, /version must not contain a NUL/],
      [
        'unindexable queue',
        { endpoint: `http://127.0.0.1:9/${WIDE}` },
        /DSP3012: call 0: .*bytes together in UTF-8, over the limit/,
      ],
    ]
    const answers = await Promise.all(
      poison.map(([, fields]) =>
        t.post(DISPATCH, { calls: [{ endpoint, function: 'poison', ...fields }, ...ordinary(1)] }),
      ),
    )
    poison.forEach(([name, , message], i) => {
      const answer = answers[i]!
      expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).toBe(400)
      expect(answer.body.code, name).toBe('invalid_argument')
      expect(answer.body.message, name).toMatch(message)
    })
    // Nothing of a refused batch was stored, not even its ordinary call.
    expect((await t.calls.list({ function: 'poison' })).calls).toEqual([])
    const later = await t.dispatch(ordinary(20))
    const settled = await settleAll(t, [...flowing, ...later])
    for (const call of settled.values()) expect(call.state).toBe('succeeded')
  })

  it('accepts edge values alike on both stores: sub-millisecond Durations are rounded, the limits themselves pass', async () => {
    const ids = await t.dispatch([
      { endpoint, function: 'edge', delay: '0.0001s', expiration: '3600.0001s', idempotencyKey: `k-${schema}` },
      { endpoint, function: 'edge', expiration: '315360000s' },
      { endpoint, function: 'edge', notBefore: '0001-01-01T00:00:00Z', correlationId: '18446744073709551615' },
      ...ordinary(5),
    ])
    const settled = await settleAll(t, ids)
    for (const call of settled.values()) expect(call.state).toBe('succeeded')
    const first = settled.get(ids[0]!)!
    expect(Date.parse(first.expiresAt!) - Date.parse(first.createdAt)).toBe(3_600_000)
  })

  it('refuses poison values in CallService requests with a 400 naming the field', async () => {
    const [id] = await t.dispatch(ordinary(1))
    const refused: [string, string, unknown, RegExp][] = [
      ['Wait', 'timeout too long', { dispatchId: id, timeout: TOO_LONG }, /DSP3010: timeout .*out of range/],
      ['Wait', 'timeout negative', { dispatchId: id, timeout: '-1s' }, /timeout must not be negative/],
      ['Get', 'NUL in dispatchId', { dispatchId: `${id}\u0000` }, /DSP3011: dispatchId must not contain a NUL/],
      ['Wait', 'NUL in dispatchId', { dispatchId: '\u0000', timeout: '0s' }, /dispatchId must not contain a NUL/],
      ['Cancel', 'NUL in dispatchId', { dispatchId: 'x\u0000' }, /dispatchId must not contain a NUL/],
      ['Redrive', 'NUL in dispatchId', { dispatchId: 'x\u0000' }, /dispatchId must not contain a NUL/],
      ['List', 'NUL in function', { function: 'f\u0000' }, /function must not contain a NUL/],
      ['List', 'NUL in fairnessKey', { fairnessKey: '\u0000' }, /fairnessKey must not contain a NUL/],
      ['List', 'NUL in parentDispatchId', { parentDispatchId: 'p\u0000' }, /parentDispatchId must not contain a NUL/],
      ['List', 'limit zero', { limit: 0 }, /limit/],
      ['List', 'limit too large', { limit: 1001 }, /limit/],
      ['List', 'limit fraction', { limit: 1.5 }, /limit/],
    ]
    for (const [method, name, body, message] of refused) {
      const answer = await t.post(`${SERVICE}/${method}`, body)
      expect(answer.status, `${method} ${name}: ${JSON.stringify(answer.body)}`).toBe(400)
      expect(answer.body.code).toBe('invalid_argument')
      expect(answer.body.message, name).toMatch(message)
    }
    const waited = await t.post(`${SERVICE}/Wait`, { dispatchId: id, timeout: '0.0001s' })
    expect(waited.status).toBe(200)
    expect((await settleAll(t, [id!])).get(id!)?.state).toBe('succeeded')
  })

  it('fails a call whose endpoint answers a poison value (STATUS_INVALID_RESPONSE), and delivers the others of its batch', async () => {
    const tail = (fields: Record<string, unknown>) => ({
      status: 'STATUS_OK',
      exit: { result: {}, tailCall: { function: 'next', ...fields } },
    })
    const poll = (fields: Record<string, unknown>) => ({
      status: 'STATUS_OK',
      poll: { coroutineState: 'AA==', ...fields },
    })
    const child = (fields: Record<string, unknown>) =>
      poll({ calls: [{ function: 'child', ...fields }], maxWait: '60s' })
    const invalid = { state: 'failed', status: 'STATUS_INVALID_RESPONSE', error: 'InvalidResponse' }
    const refusedChild = { state: 'failed', status: 'STATUS_PERMANENT_ERROR', error: 'InvalidPollCalls' }
    const cases: [string, unknown, { state: string; status: string; error: string }, RegExp][] = [
      [
        'tail call expiration too long',
        tail({ expiration: TOO_LONG }),
        invalid,
        /tail call .*expiration .*out of range/,
      ],
      ['tail call expiration negative', tail({ expiration: '-1s' }), invalid, /expiration must be positive/],
      ['tail call expiration zero', tail({ expiration: '0s' }), invalid, /expiration must be positive/],
      ['tail call NUL in version', tail({ version: '\u0000' }), invalid, /version must not contain a NUL/],
      [
        'tail call NUL in endpoint',
        tail({ endpoint: `${endpoint}/\u0000` }),
        invalid,
        /endpoint must not contain a NUL/,
      ],
      ['tail call unindexable', tail({ endpoint: `${endpoint}/${WIDE}` }), invalid, /bytes together/],
      ['Poll maxWait too long', poll({ maxWait: TOO_LONG }), invalid, /maxWait .*out of range/],
      ['Poll maxWait negative', poll({ maxWait: '-5s' }), invalid, /maxWait must not be negative/],
      ['Poll minResults zero', poll({ minResults: 0 }), invalid, /minResults/],
      ['Poll maxResults huge', poll({ maxResults: 1e9 }), invalid, /maxResults/],
      ['Poll minResults fraction', poll({ minResults: 1.5 }), invalid, /minResults/],
      ['child expiration too long', child({ expiration: TOO_LONG }), refusedChild, /call 0: expiration .*out of range/],
      ['child expiration zero', child({ expiration: '0s' }), refusedChild, /call 0: expiration must be positive/],
      ['child NUL in endpoint', child({ endpoint: `${endpoint}/\u0000` }), refusedChild, /endpoint must not contain/],
      ['child NUL in version', child({ version: 'v\u0000' }), refusedChild, /version must not contain a NUL/],
      [
        'child correlationId over uint64',
        child({ correlationId: '99999999999999999999' }),
        refusedChild,
        /out of range/,
      ],
      ['child correlationId inexact', child({ correlationId: 1e300 }), refusedChild, /correlationId .*not exact/],
    ]
    // Edge values every store must take (PostgreSQL refused the sub-millisecond ones).
    const accepted: [string, unknown][] = [
      ['tail call expiration with nanoseconds', tail({ expiration: '3600.0001s' })],
      ['Poll maxWait and child expiration with nanoseconds', child({ expiration: '3600.0001s', correlationId: '7' })],
      ['Poll maxWait at its limit', poll({ maxWait: '315360000s', calls: [{ function: 'child' }] })],
    ]
    const batch: unknown[] = []
    const kinds: string[] = []
    cases.forEach(([name, answer]) => {
      batch.push({ endpoint, function: 'poisoned', input: value({ answer }) }, ...ordinary(2))
      kinds.push(name, 'ordinary', 'ordinary')
    })
    for (const [name, answer] of accepted) {
      batch.push({ endpoint, function: 'edge', input: value({ answer }) })
      kinds.push(name)
    }
    const ids = await t.dispatch(batch)
    const settled = await settleAll(t, ids)
    ids.forEach((id, i) => {
      const call = settled.get(id)!
      const found = cases.find(([name]) => name === kinds[i])
      if (found === undefined) {
        expect(call.state, `${kinds[i]}: ${JSON.stringify(call.error)}`).toBe('succeeded')
        return
      }
      const [name, , wanted, message] = found
      expect({ state: call.state, status: call.status, error: call.error?.type }, name).toEqual(wanted)
      expect(call.error?.message, name).toMatch(message)
      expect(call.attempts, `${name}: failed for good, not retried`).toBe(1)
    })
  })

  it('reads, cancels and delivers calls an older version stored with times beyond a Date', async () => {
    const own = `${schema}_legacy`
    schemas.push(own)
    const dbPath = `${folder}/legacy.db`
    let s = await startTestScheduler(dbPath, { ...storeOptions(own), concurrency: 3 })
    const legacy = await s.dispatch(
      Array.from({ length: 4 }, (_, i) => ({ endpoint, function: 'legacy', input: value(i), delay: '3600s' })),
    )
    const others = await s.dispatch(ordinary(12).map((c) => ({ ...c, delay: '3600s' })))
    await s.scheduler.close()
    // What an older version stored for `expiration: "9000000000000s"`: due first, one kept pending for Cancel.
    const now = Date.now()
    const bad = { expiresAt: now + 9e15, expirationMs: 9e15 }
    if (storeName === 'SQLite') {
      const db = new Database(dbPath)
      const update = db.prepare('UPDATE calls SET expires_at = ?, expiration_ms = ?, due_at = ? WHERE id = ?')
      for (const [i, id] of legacy.entries()) {
        update.run(bad.expiresAt, bad.expirationMs, i === 3 ? now + 3_600_000 : now - 1000, id)
      }
      db.prepare(`UPDATE calls SET due_at = ? WHERE id IN (${others.map(() => '?').join(',')})`).run(now, ...others)
      db.close()
    } else {
      const client = new pg.Client({ connectionString: POSTGRES_TEST_URL })
      await client.connect()
      await client.query(
        `UPDATE "${own}".calls SET expires_at = $1, expiration_ms = $2, due_at = $3 WHERE id = ANY($4)`,
        [bad.expiresAt, bad.expirationMs, now - 1000, legacy.slice(0, 3)],
      )
      await client.query(`UPDATE "${own}".calls SET expires_at = $1, expiration_ms = $2 WHERE id = $3`, [
        bad.expiresAt,
        bad.expirationMs,
        legacy[3],
      ])
      await client.query(`UPDATE "${own}".calls SET due_at = $1 WHERE id = ANY($2)`, [now, others])
      await client.end()
    }
    s = await startTestScheduler(dbPath, { ...storeOptions(own), concurrency: 3 })
    try {
      const got = await s.post(`${SERVICE}/Get`, { dispatchId: legacy[3] })
      expect(got.status, JSON.stringify(got.body)).toBe(200)
      expect(got.body.call.expiresAt).toBe('9999-12-31T23:59:59.999Z')
      const listed = await s.post(`${SERVICE}/List`, { limit: 100 })
      expect(listed.status, JSON.stringify(listed.body)).toBe(200)
      expect(listed.body.calls).toHaveLength(16)
      const cancelled = await s.post(`${SERVICE}/Cancel`, { dispatchId: legacy[3] })
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200)
      expect(cancelled.body.call.state).toBe('cancelled')
      const settled = await settleAll(s, [...legacy.slice(0, 3), ...others])
      for (const call of settled.values()) expect(call.state, JSON.stringify(call.error)).toBe('succeeded')
      const stats = await eventually(async () => {
        const answer = await s.post(`${SERVICE}/Stats`, {})
        return answer.body.inFlight === 0 ? answer.body : undefined
      })
      expect(stats.inFlight).toBe(0)
    } finally {
      await s.scheduler.close()
    }
  })
})
