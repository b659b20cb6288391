import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import type { CallResult } from '../../schemas/call.js'
import type { RunRequest, RunResponse } from '../../schemas/run.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

/**
 * The scheduler side of durable coroutines, end to end through startScheduler. The endpoint
 * is scripted: it answers the Run route with hand-written Poll / Exit messages (docs/protocol.md §12), so
 * these tests depend only on the wire protocol, not on the runtime's replay.
 */

interface Seen {
  readonly request: RunRequest
  readonly at: number
}
type Handler = (request: RunRequest) => RunResponse | Promise<RunResponse>

const seen: Seen[] = []
const handlers = new Map<string, Handler>()
const runsOf = (dispatchId: string) => seen.filter((s) => s.request.dispatchId === dispatchId)

const enc = (state: unknown) => Buffer.from(JSON.stringify(state)).toString('base64')
const dec = <T>(state: string | undefined): T => JSON.parse(Buffer.from(state ?? '', 'base64').toString()) as T
const ok = (output: unknown): RunResponse => ({ status: 'STATUS_OK', exit: { result: { output: value(output) } } })
const inputOf = (request: RunRequest) => (request.input?.value as unknown[] | undefined) ?? []
const outputs = (results: readonly CallResult[] | undefined) =>
  (results ?? []).map((r) => (r.error !== undefined ? `error:${r.error.type}` : (r.output?.value as unknown)))

/** A gate a handler waits on until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

let endpointApp: FastifyInstance
let endpoint: string
let folder: string
let t: TestScheduler

beforeAll(async () => {
  endpointApp = Fastify({ bodyLimit: 64 * 1024 * 1024 })
  endpointApp.post('/dispatch.sdk.v1.FunctionService/Run', async (req) => {
    const request = req.body as RunRequest
    seen.push({ request, at: Date.now() })
    const handler = handlers.get(request.function)
    if (handler === undefined) return { status: 'STATUS_NOT_FOUND', exit: { result: {} } }
    return handler(request)
  })
  await endpointApp.listen({ host: '127.0.0.1', port: 0 })
  const address = endpointApp.server.address()
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  handlers.set('double', (r) => ok((inputOf(r)[0] as number) * 2))
  handlers.set('boom', () => ({
    status: 'STATUS_PERMANENT_ERROR',
    exit: { result: { error: { type: 'Boom', message: 'the child failed' } } },
  }))
  // A child that suspends for an hour: it stays non-terminal until something ends it.
  handlers.set('napper', () => ({ status: 'STATUS_OK', poll: { maxWait: '3600s', coroutineState: enc({}) } }))
})

afterAll(async () => {
  await endpointApp.close()
})

// The same scenarios on both stores: SQLite (embedded) and PostgreSQL (its own schema, dropped after).
describe.each(['SQLite', 'PostgreSQL'])('coroutines, end to end (scripted endpoint) on %s', (storeName) => {
  const schema = `dispatch_test_coroutines_${randomBytes(4).toString('hex')}`
  beforeAll(async () => {
    folder = await tempFolder('dispatch-coroutines-')
    t = await startTestScheduler(
      `${folder}/dispatch.db`,
      storeName === 'PostgreSQL' ? { postgres: { url: POSTGRES_TEST_URL, schema, poolSize: 4 } } : {},
    )
  })
  afterAll(async () => {
    await t.scheduler.close()
    await removeFolder(folder)
    if (storeName === 'PostgreSQL') {
      const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await store.dropSchema()
      await store.close()
    }
  })
  afterEach(() => {
    seen.length = 0
  })

  it('fans out, resumes after minResults, hands the state back verbatim, and exits with a value from the results', async () => {
    const third = gate()
    handlers.set('slowDouble', async (r) => {
      await third.wait
      return ok((inputOf(r)[0] as number) * 2)
    })
    handlers.set('gather', (r) => {
      if (r.input !== undefined) {
        return {
          status: 'STATUS_OK',
          poll: {
            coroutineState: enc({ turn: 1, got: [] }),
            calls: [
              { correlationId: '1', function: 'double', input: value([1]) },
              { correlationId: '2', function: 'double', input: value([2]) },
              { correlationId: '3', function: 'slowDouble', input: value([3]) },
            ],
            minResults: 2,
            maxWait: '600s',
          },
        }
      }
      const state = dec<{ turn: number; got: number[] }>(r.pollResult?.coroutineState)
      const got = [...state.got, ...(outputs(r.pollResult?.results) as number[])]
      if (got.length < 3) {
        if (state.turn === 1) third.open() // the slow child may finish only after the first resume
        return {
          status: 'STATUS_OK',
          poll: { coroutineState: enc({ turn: state.turn + 1, got }), minResults: 1, maxWait: '600s' },
        }
      }
      return ok(got.reduce((a, b) => a + b, 0))
    })
    const [id] = await t.dispatch([{ endpoint, function: 'gather', input: value([]) }])
    const done = await t.settle(id!)
    expect(done).toMatchObject({ state: 'succeeded', output: value(12) })

    const turns = runsOf(id!)
    const first = turns[1]!.request.pollResult!
    // minResults 2: the first resume came with the two fast children, not before.
    expect(first.results).toHaveLength(2)
    expect(first.coroutineState).toBe(enc({ turn: 1, got: [] }))
    expect(first.results!.map((r) => r.correlationId).sort()).toEqual(['1', '2'])
    const last = turns.at(-1)!.request.pollResult!
    expect(last.results!.map((r) => r.correlationId)).toContain('3')
    expect(turns.every((s, i) => (i === 0 ? s.request.input !== undefined : s.request.pollResult !== undefined))).toBe(
      true,
    )

    // The children: started with the parent's endpoint, ids and lineage.
    const children = seen.filter((s) => s.request.parentDispatchId === id)
    expect(children.map((s) => s.request.function).sort()).toEqual(['double', 'double', 'slowDouble'])
    for (const child of children) expect(child.request.rootDispatchId).toBe(id)
    const ids = new Set(children.map((s) => s.request.dispatchId))
    const reported = turns.flatMap((s) => s.request.pollResult?.results ?? []).map((r) => r.dispatchId)
    expect(new Set(reported)).toEqual(ids)
    const info = await t.calls.get(children[0]!.request.dispatchId!)
    expect(info).toMatchObject({ parentDispatchId: id, rootDispatchId: id, state: 'succeeded' })
  })

  it('hands at most maxResults per turn', async () => {
    const all = gate()
    handlers.set('gatedDouble', async (r) => {
      await all.wait
      return ok((inputOf(r)[0] as number) * 2)
    })
    handlers.set('oneByOne', (r) => {
      const poll = (got: number[]): RunResponse => ({
        status: 'STATUS_OK',
        poll: { coroutineState: enc(got), minResults: 1, maxResults: 1, maxWait: '600s' },
      })
      if (r.input !== undefined) {
        setTimeout(all.open, 0)
        return {
          status: 'STATUS_OK',
          poll: {
            ...poll([]).poll,
            calls: [1, 2, 3].map((n) => ({ correlationId: String(n), function: 'gatedDouble', input: value([n]) })),
          },
        }
      }
      const got = [...dec<number[]>(r.pollResult?.coroutineState), ...(outputs(r.pollResult?.results) as number[])]
      return got.length === 3 ? ok(got.sort()) : poll(got)
    })
    const [id] = await t.dispatch([{ endpoint, function: 'oneByOne', input: value([]) }])
    expect(await t.settle(id!)).toMatchObject({ state: 'succeeded', output: value([2, 4, 6]) })
    const resumes = runsOf(id!).filter((s) => s.request.pollResult !== undefined)
    expect(resumes).toHaveLength(3)
    for (const turn of resumes) expect(turn.request.pollResult!.results).toHaveLength(1)
  })

  it('delivers a child’s failure as an error result; the parent decides what it means', async () => {
    handlers.set('tolerant', (r) => {
      if (r.input !== undefined) {
        return {
          status: 'STATUS_OK',
          poll: {
            coroutineState: enc('s'),
            calls: [{ correlationId: '9', function: 'boom', input: value([]) }],
            maxWait: '600s',
          },
        }
      }
      const [result] = r.pollResult!.results!
      return ok({ caught: result!.error, correlationId: result!.correlationId })
    })
    const [id] = await t.dispatch([{ endpoint, function: 'tolerant', input: value([]) }])
    const done = await t.settle(id!)
    expect(done.state).toBe('succeeded')
    expect(done.output?.value).toEqual({
      caught: { type: 'Boom', message: 'the child failed' },
      correlationId: '9',
    })
  })

  it('answers a Poll with an invalid call by pollResult.error, starting none of its calls', async () => {
    handlers.set('careless', (r) => {
      if (r.input !== undefined) {
        return {
          status: 'STATUS_OK',
          poll: {
            coroutineState: enc('x'),
            calls: [
              { correlationId: '1', function: 'double', input: value([1]) },
              { correlationId: '2', function: 'not a function name', input: value([2]) },
            ],
            maxWait: '600s',
          },
        }
      }
      return ok({ error: r.pollResult?.error, results: r.pollResult?.results?.length ?? 0 })
    })
    const [id] = await t.dispatch([{ endpoint, function: 'careless', input: value([]) }])
    const done = await t.settle(id!)
    expect(done.state).toBe('succeeded')
    const answer = done.output?.value as { error: { type: string; message: string }; results: number }
    expect(answer.results).toBe(0)
    expect(answer.error.type).toBe('InvalidPollCalls')
    expect(answer.error.message).toMatch(/call 1: \/function/)
    expect(seen.filter((s) => s.request.parentDispatchId === id)).toEqual([])
  })

  it('cancels the children (and their children) when the parent is cancelled', async () => {
    handlers.set('sleepyParent', (r) => ({
      status: 'STATUS_OK',
      poll: {
        coroutineState: enc('p'),
        calls: r.input !== undefined ? [{ function: 'napper' }, { function: 'napper' }] : [],
        maxWait: '3600s',
      },
    }))
    const [id] = await t.dispatch([{ endpoint, function: 'sleepyParent', input: value([]) }])
    const children = await eventually(async () => {
      const kids = seen.filter((s) => s.request.parentDispatchId === id).map((s) => s.request.dispatchId!)
      if (kids.length < 2) return undefined
      const infos = await Promise.all(kids.map((k) => t.calls.get(k)))
      return infos.every((c) => c.state === 'suspended') ? kids : undefined
    })
    // What the CallService shows of a suspended tree.
    const suspended = await t.calls.get(id!)
    expect(suspended).toMatchObject({ state: 'suspended', resultsWaiting: 0 })
    expect(Date.parse(suspended.nextAttemptAt!)).toBeGreaterThan(Date.now() + 3000_000)
    const listed = await t.calls.list({ parentDispatchId: id! })
    expect(listed.calls.map((c) => c.dispatchId).sort()).toEqual([...children].sort())
    const cancelled = await t.calls.cancel(id!)
    expect(cancelled.state).toBe('cancelled')
    for (const child of children) expect((await t.calls.get(child)).state).toBe('cancelled')
  })

  it('restarts from the input on INCOMPATIBLE_STATE to a resumed turn; old children’s late results are ignored', async () => {
    const oldChild = gate()
    let restarted = false
    handlers.set('heldDouble', async (r) => {
      await oldChild.wait
      return ok((inputOf(r)[0] as number) * 2)
    })
    handlers.set('diverging', (r) => {
      if (r.input !== undefined) {
        const generation = restarted ? 2 : 1
        return {
          status: 'STATUS_OK',
          poll: {
            coroutineState: enc({ generation }),
            calls: [
              { correlationId: '1', function: 'double', input: value([generation * 10]) },
              // The first generation's second child hangs until after the restart.
              { correlationId: '2', function: restarted ? 'double' : 'heldDouble', input: value([generation * 100]) },
            ],
            minResults: restarted ? 2 : 1,
            maxWait: '600s',
          },
        }
      }
      const { generation } = dec<{ generation: number }>(r.pollResult?.coroutineState)
      if (generation === 1) {
        restarted = true
        return {
          status: 'STATUS_INCOMPATIBLE_STATE',
          exit: { result: { error: { type: 'IncompatibleState', message: 'replay diverged at position 0' } } },
        }
      }
      return ok(outputs(r.pollResult?.results))
    })
    const [id] = await t.dispatch([{ endpoint, function: 'diverging', input: value([]) }])
    const done = await t.settle(id!)
    expect(done.state).toBe('succeeded')
    expect([...((done.output?.value as number[] | undefined) ?? [])].sort((a, b) => a - b)).toEqual([40, 400])
    const firstRuns = runsOf(id!).filter((s) => s.request.input !== undefined)
    expect(firstRuns).toHaveLength(2)
    // The held child of the first generation was cancelled by the restart; let it answer late.
    const held = seen.find((s) => s.request.function === 'heldDouble')!.request.dispatchId!
    expect((await t.calls.get(held)).state).toBe('cancelled')
    oldChild.open()
    await eventually(async () => ((await t.calls.get(held)).state === 'cancelled' ? true : undefined))
    const reported = runsOf(id!).flatMap((s) => s.request.pollResult?.results ?? [])
    expect(reported.map((r) => r.dispatchId)).not.toContain(held)
  })

  it('bounds the children’s expiration by the parent’s, and expires a suspended parent', async () => {
    handlers.set('shortLived', (r) => ({
      status: 'STATUS_OK',
      poll: {
        coroutineState: enc('e'),
        calls: r.input !== undefined ? [{ function: 'napper' }, { function: 'napper', expiration: '1s' }] : [],
        maxWait: '3600s',
      },
    }))
    const [id] = await t.dispatch([{ endpoint, function: 'shortLived', input: value([]), expiration: '3s' }])
    const children = await eventually(() => {
      const kids = seen.filter((s) => s.request.parentDispatchId === id)
      return kids.length === 2 ? kids : undefined
    })
    const parent = await t.calls.get(id!)
    const parentExpires = Date.parse(parent.expiresAt!)
    for (const child of children) {
      expect(Date.parse(child.request.expirationTime!)).toBeLessThanOrEqual(parentExpires)
    }
    const own = children.map((c) => Date.parse(c.request.expirationTime!)).sort((a, b) => a - b)
    expect(own[0]).toBeLessThan(parentExpires) // its own 1 s came first
    const done = await t.settle(id!)
    expect(done.state).toBe('failed')
    expect(done.error?.type).toBe('Expired')
    for (const child of children) {
      const info = await t.settle(child.request.dispatchId!)
      expect(info.state).toBe('failed')
    }
  })

  it('sleeps durably: maxWait with no calls resumes after the wait, no earlier', async () => {
    handlers.set('sleeper', (r) =>
      r.input !== undefined
        ? { status: 'STATUS_OK', poll: { coroutineState: enc('zz'), maxWait: '1s' } }
        : ok({ results: r.pollResult?.results?.length ?? -1 }),
    )
    const [id] = await t.dispatch([{ endpoint, function: 'sleeper', input: value([]) }])
    const done = await t.settle(id!)
    expect(done).toMatchObject({ state: 'succeeded', output: value({ results: 0 }) })
    const [first, second] = runsOf(id!)
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000)
  })
})

describe('coroutines across a scheduler restart', () => {
  it('keeps a durable sleep through a restart and fires it no earlier than asked', async () => {
    const dir = await tempFolder('dispatch-coroutines-restart-')
    const dbPath = `${dir}/dispatch.db`
    let asleepAt = 0
    handlers.set('longSleeper', (r) => {
      if (r.input !== undefined) {
        asleepAt = Date.now()
        return { status: 'STATUS_OK', poll: { coroutineState: enc('night'), maxWait: '2s' } }
      }
      return ok({ woke: r.pollResult?.coroutineState })
    })
    try {
      const first = await startTestScheduler(dbPath)
      const [id] = await first.dispatch([{ endpoint, function: 'longSleeper', input: value([]) }])
      await eventually(async () => ((await first.calls.get(id!)).state === 'suspended' ? true : undefined))
      await first.scheduler.close()
      const second = await startTestScheduler(dbPath)
      try {
        const done = await second.settle(id!)
        expect(done).toMatchObject({ state: 'succeeded', output: value({ woke: enc('night') }) })
        const resumed = runsOf(id!).find((s) => s.request.pollResult !== undefined)!
        expect(resumed.at - asleepAt).toBeGreaterThanOrEqual(2000)
      } finally {
        await second.scheduler.close()
      }
    } finally {
      await removeFolder(dir)
    }
  })
})
