import { afterEach, describe, expect, it } from 'vitest'
import { createClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { eventually, type TestScheduler } from './helpers.js'
import { schedulerPerTest } from './schedulerPerTest.js'

/** Runs started, by tag; each waits until the test releases it. */
let started: string[] = []
let running = new Map<string, number>()
let maxRunning = new Map<string, number>()
const gates = new Map<string, () => void>()
const release = (tag: string) => {
  gates.get(tag)?.()
  gates.delete(tag)
}
const any = { output: {}, source: 'test/scheduler/keyConcurrency.test.ts:1' }
const routes = defineRoutes({
  sync: {
    ...any,
    input: tupleSchema([{ type: 'object' }], 1),
    handler: async (job: { accountId: string; tag: string }) => {
      started.push(job.tag)
      const now = (running.get(job.accountId) ?? 0) + 1
      running.set(job.accountId, now)
      maxRunning.set(job.accountId, Math.max(maxRunning.get(job.accountId) ?? 0, now))
      await new Promise<void>((resolve) => gates.set(job.tag, resolve))
      running.set(job.accountId, running.get(job.accountId)! - 1)
    },
  },
})
type Fns = { sync: { args: [{ accountId: string; tag: string }]; output: undefined } }

const start = schedulerPerTest('conc', routes)
let t: TestScheduler | undefined
afterEach(() => {
  for (const tag of [...gates.keys()]) release(tag)
})

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  describe(`per-key concurrency through the scheduler (docs/flow-control.md): ${kind}`, () => {
    async function setUp(functions: Record<string, { concurrency?: number }> = {}) {
      started = []
      running = new Map()
      maxRunning = new Map()
      const opened = await start(kind, { functions })
      t = opened.t
      const endpoint = { url: opened.endpointUrl }
      // As the generated client of `@concurrency 1 key=accountId` is built.
      return createClient<Fns>(
        { sync: { arity: 1, flow: { concurrency: { limit: 1, key: { arg: 0, path: ['accountId'] } } } } },
        { apiUrl: t.scheduler.url, apiKey: t.scheduler.apiKey, endpoint: endpoint.url },
      )
    }

    it('runs one call per key at a time; other keys run meanwhile; Get says why a call waits', async () => {
      const client = await setUp()
      const a1 = await client.sync({ accountId: 'a', tag: 'a1' })
      const a2 = await client.sync({ accountId: 'a', tag: 'a2' })
      const b1 = await client.sync({ accountId: 'b', tag: 'b1' })
      await eventually(() => (started.includes('a1') && started.includes('b1') ? true : undefined))
      expect(started).not.toContain('a2')
      const waiting = await t!.calls.get(a2)
      expect(waiting).toMatchObject({ state: 'pending', waiting: 'concurrency', concurrency: { key: 'a', limit: 1 } })
      release('a1')
      await eventually(() => (started.includes('a2') ? true : undefined))
      release('a2')
      release('b1')
      for (const id of [a1, a2, b1]) expect((await t!.settle(id)).state).toBe('succeeded')
      expect(maxRunning.get('a')).toBe(1)
    })

    it('the queues (fairness keys) waiting on one key take turns; an older backlog does not go first', async () => {
      const client = await setUp()
      const call = (fairnessKey: string, tag: string) => client.sync({ accountId: 'shared', tag }, { fairnessKey })
      const ids = [await call('tenant-a', 'a1')]
      await eventually(() => (started.includes('a1') ? true : undefined))
      // While a1 holds the key, tenant a's backlog, then tenant b's younger calls.
      for (const tag of ['a2', 'a3', 'a4', 'a5', 'a6']) ids.push(await call('tenant-a', tag))
      for (const tag of ['b1', 'b2', 'b3']) ids.push(await call('tenant-b', tag))
      for (let i = 1; i < ids.length; i++) {
        release(started[i - 1]!)
        await eventually(() => (started.length > i ? true : undefined))
      }
      release(started.at(-1)!)
      for (const id of ids) expect((await t!.settle(id)).state).toBe('succeeded')
      // Tenant a was served first, so tenant b goes next; at equal turns the older call goes first.
      expect(started).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'a5', 'a6'])
    })

    it("the scheduler's config overrides the declared limit", async () => {
      const client = await setUp({ sync: { concurrency: 2 } })
      const ids = await Promise.all(['x1', 'x2', 'x3'].map((tag) => client.sync({ accountId: 'x', tag })))
      await eventually(() => (started.length === 2 ? true : undefined))
      expect((await t!.calls.get(ids[2]!)).concurrency).toEqual({ key: 'x', limit: 2 })
      expect(started).not.toContain('x3')
      release(started[0]!)
      await eventually(() => (started.includes('x3') ? true : undefined))
      for (const tag of ['x1', 'x2', 'x3']) release(tag)
      for (const id of ids) expect((await t!.settle(id)).state).toBe('succeeded')
      expect(maxRunning.get('x')).toBe(2)
    })
  })
}
