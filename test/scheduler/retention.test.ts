import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { createClient, defineRoutes, tupleSchema } from 'dispatch-functions'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RETENTION_MS, resolveRetention } from '../../scheduler/schedulerOptions.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { purgeInBatches, retentionInterval } from '../../scheduler/store/retention.js'
import { openSqliteStore } from '../../scheduler/store/sqliteStore.js'
import type { Completion } from '../../scheduler/store/store.js'
import { eventually, removeFolder, startEndpoint, startTestScheduler, tempFolder } from './helpers.js'
import { newCall, T0 } from './newCall.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

const routes = defineRoutes({
  echo: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (text: string) => text,
    source: 'test/scheduler/retention.test.ts:1',
  },
})

let dir: string
beforeAll(async () => {
  dir = await tempFolder('dispatch-retention-')
})
afterAll(async () => {
  await removeFolder(dir)
})

const bytesOf = (path: string): number => {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

describe('retention', () => {
  it('keeps the SQLite database flat over many rounds of calls when finished calls are deleted', async () => {
    const db = join(dir, 'flat.db')
    // A tiny retention: every finished call is due for deletion at the next sweep.
    const test = await startTestScheduler(db, { retention: 1, idempotencyWindowMs: 1 })
    const endpoint = await startEndpoint(routes, test.scheduler.verificationKeyPem)
    const client = createClient<{ echo: { args: [text: string]; output: string } }>(
      { echo: 1 },
      { apiUrl: test.scheduler.url, apiKey: test.scheduler.apiKey, endpoint: endpoint.url },
    )
    const ROUNDS = 30
    const CALLS = 100
    const payload = 'x'.repeat(4096) // 40 rounds kept forever would be over 16 MB of inputs and outputs
    const sizes: number[] = []
    const finishedCalls = async () => {
      const counts = await test.scheduler.stats()
      return counts.reduce((sum, c) => sum + c.count, 0)
    }
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const ids = await Promise.all(Array.from({ length: CALLS }, (_, i) => client.echo(`${round}/${i}/${payload}`)))
        expect(ids).toHaveLength(CALLS)
        // Every call of the round is delivered and finished, then retention deletes them all.
        await eventually(async () => ((await finishedCalls()) === 0 ? true : undefined), 60_000)
        sizes.push(bytesOf(db) + bytesOf(`${db}-wal`))
      }
    } finally {
      await test.scheduler.close()
      await endpoint.app.close()
    }
    // Freed pages are reused: after the first rounds the files stop growing (the WAL is reused
    // after each checkpoint; the database keeps the pages of one round's peak, mostly free).
    const settled = Math.max(...sizes.slice(0, 10))
    expect(Math.max(...sizes.slice(10))).toBeLessThanOrEqual(settled * 1.5)
    const file = new Database(db, { readonly: true })
    const pages = file.pragma('page_count', { simple: true }) as number
    const free = file.pragma('freelist_count', { simple: true }) as number
    const pageSize = file.pragma('page_size', { simple: true }) as number
    file.close()
    expect(pages - free).toBeLessThan(40) // the empty schema: a page or two per table and index
    // About one round's calls (input and output of each), far from the ROUNDS times that kept forever.
    expect(pages * pageSize).toBeLessThan(3 * CALLS * 2 * payload.length)
  })

  it('deletes finished calls from PostgreSQL too, while the scheduler delivers', async () => {
    const store = await openPostgresStore({
      url: POSTGRES_TEST_URL,
      schema: `dispatch_retention_${randomBytes(4).toString('hex')}`,
      poolSize: 4,
    })
    const test = await startTestScheduler(join(dir, 'keys.db'), { store, retention: 1 })
    const endpoint = await startEndpoint(routes, test.scheduler.verificationKeyPem)
    try {
      const client = createClient<{ echo: { args: [text: string]; output: string } }>(
        { echo: 1 },
        { apiUrl: test.scheduler.url, apiKey: test.scheduler.apiKey, endpoint: endpoint.url },
      )
      for (let round = 0; round < 3; round++) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => client.echo(`${round}/${i}`)))
        await eventually(async () => ((await store.countCalls()).length === 0 ? true : undefined), 60_000)
      }
    } finally {
      await test.scheduler.close()
      await endpoint.app.close()
      await store.dropSchema()
      await store.close()
    }
  })

  it('deletes a backlog in bounded batches, reporting that more is left', async () => {
    const store = openSqliteStore(join(dir, 'backlog.db'))
    const calls = Array.from({ length: 1200 }, () => newCall())
    await store.insertCalls(calls, { now: T0, idempotencyWindowMs: 1 })
    const claimed = await store.claimCalls({ now: T0, limit: 2000, owner: 'o', leaseMs: 1000 })
    const done = claimed.map(
      (c): Completion => ({
        kind: 'succeeded',
        dispatchId: c.dispatchId,
        attempt: c.attempts,
        owner: 'o',
        now: T0 + 1,
        status: 'STATUS_OK',
        output: undefined,
        error: undefined,
      }),
    )
    expect((await store.completeAttempts(done)).every(Boolean)).toBe(true)
    expect(await purgeInBatches(store, T0 + 2, 2)).toEqual({ deleted: 1000, more: true })
    expect(await purgeInBatches(store, T0 + 2, 2)).toEqual({ deleted: 200, more: false })
    expect(await store.countCalls()).toEqual([])
    await store.close()
  })

  it('defaults to 7 days; 0 and false turn it off; anything else but a duration is refused (DSP3041)', () => {
    expect(resolveRetention(undefined)).toBe(DEFAULT_RETENTION_MS)
    expect(DEFAULT_RETENTION_MS).toBe(7 * 86_400_000)
    expect(resolveRetention(false)).toBe(0)
    expect(resolveRetention(0)).toBe(0)
    expect(resolveRetention('12h')).toBe(12 * 3_600_000)
    expect(resolveRetention(1500)).toBe(1500)
    for (const bad of ['forever', -1, Number.NaN, '9'.repeat(400).concat('d')]) {
      expect(() => resolveRetention(bad as never)).toThrow(expect.objectContaining({ code: 'DSP3041' }))
    }
    expect(retentionInterval(DEFAULT_RETENTION_MS)).toBe(60_000)
    expect(retentionInterval(1)).toBe(100)
  })
})
