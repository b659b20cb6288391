import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { FUZZ_SEED, recordFigures } from '../fuzz/fuzzConfig.js'
import { startEndpoint, value } from '../scheduler/helpers.js'
import { POSTGRES_TEST_URL } from '../scheduler/postgresTestUrl.js'
import { postgresInconsistencies } from './postgresInconsistencies.js'
import {
  checkInvariants,
  DISPATCH,
  eventually,
  exited,
  FULL,
  flakyWorkRoutes,
  type SchedulerChild,
  spawnScheduler,
} from './processes.js'

// PostgreSQL connections killed under load: two scheduler nodes on one schema, every backend of the
// schema terminated (pg_terminate_backend) again and again — while batches are being dispatched and
// while deliveries are under way — with 20% temporary failures. Every accepted call must complete,
// none may be lost or stored twice, a batch refused meanwhile must be refused as 503 (the store is
// unavailable, not a bug), and the schema must be consistent at the end.

const TOTAL = FULL ? 20_000 : 3_000
const BATCH = 200
const ROUNDS = FULL ? 10 : 6

/** A small seeded generator (mulberry32): the kill moments are random but the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const schema = `dispatch_faults_pg_${randomBytes(4).toString('hex')}`
const nodes: SchedulerChild[] = []
let admin: pg.Client
const figures = { accepted: 0, completed: 0, lost: 0, rounds: 0, survived: 0, backends: 0, refused: 0, runs: 0 }

beforeAll(async () => {
  admin = new pg.Client({ connectionString: POSTGRES_TEST_URL })
  await admin.connect()
})
afterAll(async () => {
  await Promise.all(nodes.map((node) => exited(node.process, true)))
  await admin.end()
  const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
  await store.dropSchema()
  await store.close()
  recordFigures({
    suite: 'faults: PostgreSQL connections killed under load (2 nodes, 20% temporary failures)',
    'calls accepted': figures.accepted,
    'calls completed': figures.completed,
    'calls lost': figures.lost,
    'connection kills injected': figures.rounds,
    'connection kills survived': figures.survived,
    'backends terminated': figures.backends,
    'batches refused with 503 and sent again': figures.refused,
  })
})

/** Terminates every backend of the schema's nodes (their pools and LISTEN connections). */
async function killConnections(): Promise<void> {
  const { rows } = await admin.query<{ n: string }>(
    'SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
    [`dispatch:${schema}`.slice(0, 63)],
  )
  figures.backends += Number(rows[0]?.n ?? 0)
  figures.rounds++
}

/** Up to 5 rounds of kills back to back while `done()` is false: one round, for the figures. */
async function killBurst(done: () => boolean): Promise<void> {
  await killConnections()
  for (let i = 1; i < 5 && !done(); i++) {
    await killConnections()
    figures.rounds--
  }
}

/**
 * Dispatches a batch, sending it again (same idempotency keys) while it is refused: only 503 may
 * refuse it, the store being away; anything else fails the test.
 */
async function dispatchUntilAccepted(node: SchedulerChild, calls: unknown[]): Promise<string[]> {
  let refusal = ''
  return eventually(
    async () => {
      const response = await fetch(node.url + DISPATCH, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${node.apiKey}` },
        body: JSON.stringify({ calls }),
      })
      const body = (await response.json()) as { dispatchIds?: string[]; code?: string; message?: string }
      if (response.status === 200) return body.dispatchIds!
      refusal = `HTTP ${response.status} ${body.code}: ${body.message}`
      expect(response.status, refusal).toBe(503)
      expect(response.headers.get('retry-after')).not.toBeNull()
      figures.refused++
      return undefined
    },
    60_000,
    `a batch accepted (last refusal: ${refusal})`,
  )
}

describe('faults: PostgreSQL connections killed under load', () => {
  it(`loses nothing when every connection is terminated ${ROUNDS} times during ${TOTAL} calls`, async () => {
    const random = seeded(FUZZ_SEED + 7)
    const env = { DISPATCH_TEST_DATABASE_URL: POSTGRES_TEST_URL, DISPATCH_TEST_SCHEMA: schema }
    // The first node creates the schema and the keys; the second reads them.
    nodes.push(await spawnScheduler('', env, 'test/scheduler/multinodeNode.ts'))
    nodes.push(await spawnScheduler('', env, 'test/scheduler/multinodeNode.ts'))
    const [a, b] = nodes as [SchedulerChild, SchedulerChild]
    const effects = new Map<string, number>()
    const routes = flakyWorkRoutes('test/faults/postgres.faults.test.ts:1', effects, () => figures.runs++, 2)
    const { url: endpoint, app } = await startEndpoint(routes, a.verificationKeyPem)
    try {
      // A third of the rounds while batches are being dispatched, at random batches.
      const batches = TOTAL / BATCH
      const duringDispatch = new Set<number>()
      while (duringDispatch.size < Math.ceil(ROUNDS / 3)) duringDispatch.add(Math.floor(random() * batches))
      const accepted = new Set<string>()
      for (let batch = 0; batch < batches; batch++) {
        const calls = Array.from({ length: BATCH }, (_, i) => ({
          endpoint,
          function: 'work',
          input: value([batch * BATCH + i]),
          idempotencyKey: `pg-${batch * BATCH + i}`,
        }))
        // A burst of kills races the batch's transaction: before, during or after the commit.
        let done = false
        const killing = duringDispatch.has(batch) ? killBurst(() => done) : undefined
        const ids = await dispatchUntilAccepted(batch % 2 === 0 ? a : b, calls)
        done = true
        await killing
        for (const id of ids) accepted.add(id)
      }
      expect(accepted.size).toBe(TOTAL)

      // The other rounds at random points of the deliveries.
      const moments = Array.from({ length: ROUNDS - figures.rounds }, () => random()).sort()
      for (const moment of moments) {
        const target = Math.floor(moment * TOTAL * 0.9)
        await eventually(() => (effects.size >= target ? true : undefined), 300_000, `${target} calls done`)
        await killConnections()
      }
      expect(figures.rounds).toBe(ROUNDS)

      const report = await checkInvariants(a.calls, accepted, () => effects, 300_000)
      figures.accepted += report.accepted
      figures.completed += report.completed
      figures.lost += report.lost.length
      // Both nodes rode out every round: none exited.
      if (nodes.every((node) => node.process.exitCode === null && node.process.signalCode === null)) {
        figures.survived = figures.rounds
      }
      expect(report.lost).toEqual([])
      expect(report.notTerminal).toEqual([])
      expect(report.okWithoutEffect).toEqual([])
      expect(report.succeeded).toBe(TOTAL)
      expect(figures.survived).toBe(ROUNDS)
      expect(figures.backends).toBeGreaterThan(ROUNDS) // each round cut several connections
      // Exactly what was acknowledged is stored: a batch resent after a lost answer added nothing.
      const counts = await a.calls.stats()
      expect(counts.calls.reduce((n, c) => n + c.count, 0)).toBe(TOTAL)
      await Promise.all(nodes.map((node) => exited(node.process, true)))
      expect(await postgresInconsistencies(POSTGRES_TEST_URL, schema)).toEqual([])
    } finally {
      await app.close()
    }
  }, 900_000)
})
