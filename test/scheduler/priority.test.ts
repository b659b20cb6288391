import { describe, expect, it } from 'vitest'
import { createClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { DEFAULT_CALL_POLICIES } from '../../scheduler/calls/retryPolicy.js'
import { toNewCall } from '../../scheduler/calls/toNewCalls.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { eventually, type TestScheduler, value } from './helpers.js'
import { schedulerPerTest } from './schedulerPerTest.js'

const NOW = 1_700_000_000_000
const ENDPOINT = 'http://127.0.0.1:9/'
const wire = (extra: object = {}) => ({ endpoint: ENDPOINT, function: 'f', input: value([]), ...extra })

describe('priority at dispatch (docs/flow-control.md)', () => {
  it('gives a call due at dispatch a head start of priority × step; none without priority', () => {
    const policies = { ...DEFAULT_CALL_POLICIES, priorityStepMs: 1000 }
    expect(toNewCall(wire(), 0, policies, NOW)).toMatchObject({ dueAt: NOW })
    expect(toNewCall(wire(), 0, policies, NOW).priority).toBeUndefined()
    expect(toNewCall(wire({ priority: 5 }), 0, policies, NOW)).toMatchObject({ dueAt: NOW - 5000, priority: 5 })
  })

  it('never runs a delayed call early: its priority is kept, without a head start', () => {
    const policies = { ...DEFAULT_CALL_POLICIES, priorityStepMs: 1000 }
    expect(toNewCall(wire({ priority: 5, delay: '10s' }), 0, policies, NOW)).toMatchObject({
      dueAt: NOW + 10_000,
      priority: 5,
    })
  })

  it("takes the call's own priority, else the scheduler's config for the function, else the declaration", () => {
    const policies = { ...DEFAULT_CALL_POLICIES, functions: { f: { priority: 3 } } }
    const declared = { flow: { priority: 9 } }
    expect(toNewCall(wire(declared), 0, DEFAULT_CALL_POLICIES, NOW).priority).toBe(9)
    expect(toNewCall(wire(declared), 0, policies, NOW).priority).toBe(3)
    expect(toNewCall(wire({ ...declared, priority: 1 }), 0, policies, NOW).priority).toBe(1)
    // The config may lower a declared priority to the default.
    expect(toNewCall(wire(declared), 0, { ...policies, functions: { f: { priority: 0 } } }, NOW).priority).toBe(
      undefined,
    )
  })

  it('refuses a priority out of range in the config (DSP3005)', () => {
    const refusal = (priority: number) => {
      try {
        resolveSchedulerOptions({ functions: { f: { priority } } })
      } catch (error) {
        return error as { code?: string; message: string }
      }
      return undefined
    }
    expect(refusal(101)).toMatchObject({ code: 'DSP3005', message: expect.stringMatching(/functions\.f\.priority/) })
    expect(refusal(1.5)).toMatchObject({ code: 'DSP3005' })
    expect(refusal(100)).toBeUndefined()
  })
})

/** Every run the endpoint started, in order. */
let started: string[] = []
const any = { input: tupleSchema([{}], 0), output: {}, source: 'test/scheduler/priority.test.ts:1' }
const routes = defineRoutes({ work: { ...any, handler: (tag: string) => void started.push(tag) } })

const start = schedulerPerTest('prio', routes)
let t: TestScheduler | undefined

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  describe(`priority through the scheduler: ${kind}`, () => {
    async function setUp(): Promise<string> {
      started = []
      // One attempt at a time, so the order of starts is the order of claims.
      const opened = await start(kind, { concurrency: 1, adaptiveConcurrency: false })
      t = opened.t
      return opened.endpointUrl
    }

    it('an urgent call overtakes a backlog of its queue; the backlog still runs', async () => {
      const endpoint = await setUp()
      const call = (tag: string, priority?: number) => ({
        endpoint,
        function: 'work',
        input: value([tag]),
        ...(priority === undefined ? {} : { priority }),
      })
      const backlog = await t!.dispatch(Array.from({ length: 200 }, (_, i) => call(`b${i}`)))
      await eventually(() => (started.length >= 3 ? true : undefined))
      const ranBefore = started.length
      const [urgent] = await t!.dispatch([call('urgent', 5)])
      expect((await t!.settle(urgent!)).priority).toBe(5)
      expect((await t!.settle(backlog.at(-1)!)).state).toBe('succeeded')
      // Behind only the calls already claimed or in flight when it came (one at a time): not behind
      // the rest of the 200-call backlog, which all ran after it.
      expect(started.indexOf('urgent') - ranBefore).toBeLessThanOrEqual(3)
      expect(started).toHaveLength(201)
    })

    it("the generated client's declared priority travels with each call; Get says why a call waits", async () => {
      const endpoint = await setUp()
      const client = createClient<{ work: { args: [string]; output: undefined } }>(
        { work: { arity: 1, flow: { priority: 4 } } },
        { apiUrl: t!.scheduler.url, apiKey: t!.scheduler.apiKey, endpoint },
      )
      const id = await client.work('declared')
      expect((await t!.settle(id)).priority).toBe(4)
      const own = await client.work('own', { priority: 9 })
      expect((await t!.settle(own)).priority).toBe(9)
      const later = await client.work('later', { delay: '1h' })
      const call = await t!.calls.get(later)
      expect(call).toMatchObject({ state: 'pending', priority: 4, waiting: 'delayed' })
      await t!.calls.cancel(later)
    })

    it('refuses a priority out of range, naming the call (400)', async () => {
      const endpoint = await setUp()
      const answer = await t!.post('/dispatch.sdk.v1.DispatchService/Dispatch', {
        calls: [{ endpoint, function: 'work', input: value(['x']), priority: 101 }],
      })
      expect(answer.status).toBe(400)
      expect(answer.body.message).toMatch(/call 0: \/priority/)
      const flow = await t!.post('/dispatch.sdk.v1.DispatchService/Dispatch', {
        calls: [{ endpoint, function: 'work', input: value(['x']), flow: { rateLimit: { limit: 1 } } }],
      })
      // An option this scheduler does not enforce is refused, never ignored.
      expect(flow.status).toBe(400)
      expect(flow.body.message).toMatch(/call 0: \/flow/)
    })
  })
}

describe('flow options of a coroutine child call', () => {
  it("travel with a durable call, so the child gets its function's declared priority and concurrency", async () => {
    const { createTestEnvironment } = await import('../../testing/index.js')
    const childRoutes = defineRoutes({
      child: { ...any, handler: async (tag: string) => tag },
      parent: {
        ...any,
        handler: async (tag: string) => {
          const client = createClient<{ child: { args: [{ accountId: string }]; output: unknown } }>({
            child: { arity: 1, flow: { priority: 6, concurrency: { limit: 2, key: { arg: 0, path: ['accountId'] } } } },
          })
          return client.child.call({ accountId: tag })
        },
      },
    })
    const env = await createTestEnvironment({ routes: childRoutes })
    try {
      const parent = await createClient<{ parent: { args: [string]; output: unknown } }>({ parent: 1 }).parent('acct-7')
      const done = await env.waitFor(parent)
      expect(done.state).toBe('succeeded')
      expect(done.children[0]!.info).toMatchObject({ priority: 6, concurrency: { key: 'acct-7', limit: 2 } })
    } finally {
      await env.close()
    }
  })
})
