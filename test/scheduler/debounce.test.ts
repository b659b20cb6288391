import { describe, expect, it } from 'vitest'
import { createClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { eventually, type TestScheduler, value } from './helpers.js'
import { schedulerPerTest } from './schedulerPerTest.js'

/** Runs, by tag. */
let ran: string[] = []
const any = { output: {}, source: 'test/scheduler/debounce.test.ts:1' }
const routes = defineRoutes({
  reindex: {
    ...any,
    input: tupleSchema([{ type: 'object' }], 1),
    handler: async (job: { userId: string; tag: string }) => {
      ran.push(job.tag)
    },
  },
})
type Fns = { reindex: { args: [{ userId: string; tag: string }]; output: undefined } }

const start = schedulerPerTest('debounce', routes)
let t: TestScheduler | undefined

const HOUR = 3_600_000

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  describe(`debounce through the scheduler (docs/flow-control.md): ${kind}`, () => {
    async function setUp(
      debounce: { windowMs: number; keep?: 'last' | 'first'; maxMs?: number },
      functions: Record<string, { debounce?: { windowMs: number } }> = {},
    ) {
      ran = []
      const opened = await start(kind, { functions })
      t = opened.t
      // As the generated client of `@debounce <window> key=userId ...` is built.
      const client = createClient<Fns>(
        { reindex: { arity: 1, flow: { debounce: { ...debounce, key: { arg: 0, path: ['userId'] } } } } },
        { apiUrl: t.scheduler.url, apiKey: t.scheduler.apiKey, endpoint: opened.endpointUrl },
      )
      const call = (userId: string, tag: string) => ({
        endpoint: opened.endpointUrl,
        function: 'reindex',
        input: value([{ userId, tag }]),
        flow: { debounce: { ...debounce, key: userId } },
      })
      return { client, call }
    }

    it('the caller gets the pending call id; Get says it waits, debounced, with the last input', async () => {
      const { client } = await setUp({ windowMs: HOUR })
      const first = await client.reindex({ userId: 'u1', tag: 'a' })
      expect(await client.reindex({ userId: 'u1', tag: 'b' })).toBe(first)
      expect(await client.reindex({ userId: 'u1', tag: 'c' })).toBe(first)
      const other = await client.reindex({ userId: 'u2', tag: 'x' })
      expect(other).not.toBe(first)
      const info = await t!.calls.get(first)
      expect(info).toMatchObject({
        state: 'pending',
        waiting: 'debounced',
        debounce: { key: 'u1', keep: 'last', windowMs: HOUR, dispatches: 3 },
        input: value([{ userId: 'u1', tag: 'c' }]),
      })
    })

    it('a batch of calls of one key runs once, with the last input (keep=last) or the first (keep=first)', async () => {
      const { call } = await setUp({ windowMs: 100 })
      const ids = await t!.dispatch([call('u1', 'a'), call('u1', 'b'), call('u2', 'x'), call('u1', 'c')])
      expect(ids[1]).toBe(ids[0])
      expect(ids[3]).toBe(ids[0])
      expect(ids[2]).not.toBe(ids[0])
      for (const id of [ids[0]!, ids[2]!]) expect((await t!.settle(id)).state).toBe('succeeded')
      const first = (userId: string, tag: string) => ({
        ...call(userId, tag),
        flow: { debounce: { windowMs: 100, key: userId, keep: 'first' } },
      })
      const [kept] = await t!.dispatch([first('u3', 'f1'), first('u3', 'f2')])
      expect((await t!.settle(kept!)).state).toBe('succeeded')
      expect([...ran].sort()).toEqual(['c', 'f1', 'x'])
    })

    it('a call that has started is not collapsed into: the next call of its key is a call of its own', async () => {
      const { client } = await setUp({ windowMs: 100 })
      const first = await client.reindex({ userId: 'u1', tag: 'a' })
      expect((await t!.settle(first)).state).toBe('succeeded')
      const second = await client.reindex({ userId: 'u1', tag: 'b' })
      expect(second).not.toBe(first)
      expect((await t!.settle(second)).state).toBe('succeeded')
      expect(ran).toEqual(['a', 'b'])
    })

    it('with max, a steady stream of calls of one key still runs', async () => {
      const { client } = await setUp({ windowMs: 150, maxMs: 300 })
      const first = await client.reindex({ userId: 'u1', tag: 's0' })
      // Calls keep coming faster than the window (unless the machine is slow: then some start windows
      // of their own, which changes nothing here): the first call runs within its max wait anyway.
      await eventually(async () => {
        await client.reindex({ userId: 'u1', tag: 'more' })
        return (await t!.calls.get(first)).state === 'succeeded' ? true : undefined
      })
    })

    it("the scheduler's config overrides the declared window; bad debounces are refused with a code", async () => {
      const { client, call } = await setUp({ windowMs: 100 }, { reindex: { debounce: { windowMs: HOUR } } })
      const id = await client.reindex({ userId: 'u1', tag: 'a' })
      expect((await t!.calls.get(id)).debounce).toMatchObject({ windowMs: HOUR })
      const delayed = await t!.post('/dispatch.sdk.v1.DispatchService/Dispatch', {
        calls: [{ ...call('u1', 'b'), delay: '1s' }],
      })
      expect(delayed.status).toBe(400)
      expect(delayed.body.message).toMatch(/^DSP3070: call 0: a debounced call takes no delay or notBefore/)
      const shortMax = await t!.post('/dispatch.sdk.v1.DispatchService/Dispatch', {
        // Another function: this one's debounce comes from the config.
        calls: [{ ...call('u1', 'b'), function: 'other', flow: { debounce: { windowMs: 1000, maxMs: 10 } } }],
      })
      expect(shortMax.status).toBe(400)
      expect(shortMax.body.message).toMatch(/^DSP3071: call 0: flow.debounce.maxMs \(10\) is shorter/)
    })
  })
}
