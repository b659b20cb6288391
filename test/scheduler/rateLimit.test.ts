import { describe, expect, it } from 'vitest'
import { createClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { eventually, type TestScheduler } from './helpers.js'
import { schedulerPerTest } from './schedulerPerTest.js'

/** Runs started, by tag. */
let started: string[] = []
const any = { output: {}, source: 'test/scheduler/rateLimit.test.ts:1' }
const routes = defineRoutes({
  fetchQuota: {
    ...any,
    input: tupleSchema([{ type: 'object' }], 1),
    handler: async (job: { customerId: string; tag: string }) => {
      started.push(job.tag)
    },
  },
})
type Fns = { fetchQuota: { args: [{ customerId: string; tag: string }]; output: undefined } }

const start = schedulerPerTest('rate', routes)
let t: TestScheduler | undefined

const HOUR = 3_600_000

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  describe(`rate limits through the scheduler (docs/flow-control.md): ${kind}`, () => {
    async function setUp(
      periodMs: number,
      functions: Record<string, { rateLimit?: { limit: number; periodMs: number } }> = {},
    ) {
      started = []
      const opened = await start(kind, { functions })
      t = opened.t
      const endpoint = { url: opened.endpointUrl }
      // As the generated client of `@rateLimit 2/<period> key=customerId` is built.
      return createClient<Fns>(
        {
          fetchQuota: {
            arity: 1,
            flow: { rateLimit: { limit: 2, periodMs, key: { arg: 0, path: ['customerId'] } } },
          },
        },
        { apiUrl: t.scheduler.url, apiKey: t.scheduler.apiKey, endpoint: endpoint.url },
      )
    }

    it('starts at most N per period per key; the others wait (Get says why); other keys run meanwhile', async () => {
      const client = await setUp(HOUR)
      const a: string[] = []
      for (const tag of ['a1', 'a2', 'a3']) a.push(await client.fetchQuota({ customerId: 'a', tag }))
      const b1 = await client.fetchQuota({ customerId: 'b', tag: 'b1' })
      for (const id of [a[0]!, a[1]!, b1]) expect((await t!.settle(id)).state).toBe('succeeded')
      const waiting = await t!.calls.get(a[2]!)
      expect(waiting).toMatchObject({
        state: 'pending',
        waiting: 'rate_limited',
        rateLimit: { key: 'a', limit: 2, periodMs: HOUR },
      })
      expect(started).not.toContain('a3')
    })

    it('a waiting call starts once its period has passed', async () => {
      const client = await setUp(1_000)
      const ids: string[] = []
      for (const tag of ['x1', 'x2', 'x3', 'x4', 'x5']) ids.push(await client.fetchQuota({ customerId: 'x', tag }))
      for (const id of ids) expect((await t!.settle(id)).state).toBe('succeeded')
      expect([...started].sort()).toEqual(['x1', 'x2', 'x3', 'x4', 'x5'])
    })

    it("the scheduler's config overrides the declared limit", async () => {
      const client = await setUp(HOUR, { fetchQuota: { rateLimit: { limit: 3, periodMs: HOUR } } })
      const ids: string[] = []
      for (const tag of ['y1', 'y2', 'y3', 'y4']) ids.push(await client.fetchQuota({ customerId: 'y', tag }))
      for (const id of ids.slice(0, 3)) expect((await t!.settle(id)).state).toBe('succeeded')
      await eventually(async () => ((await t!.calls.get(ids[3]!)).waiting === 'rate_limited' ? true : undefined))
      expect((await t!.calls.get(ids[3]!)).rateLimit).toEqual({ key: 'y', limit: 3, periodMs: HOUR })
      expect(started).not.toContain('y4')
    })
  })
}
