import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { AdaptiveConcurrency } from '../../scheduler/delivery/adaptiveConcurrency.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

/** The endpoint serves at most this many requests at once and answers 429 to the rest. */
const N = 8
let cap = N
let current = 0
let ran = 0
let throttled = 0

const routes = defineRoutes({
  work: {
    input: tupleSchema([]),
    output: undefined,
    source: 'test/scheduler/concurrency.test.ts:1',
    // A few milliseconds of "work", so that requests overlap and concurrency means something.
    handler: () => new Promise<void>((resolve) => setTimeout(resolve, 3)),
  },
})

let folder: string
let t: TestScheduler
let app: FastifyInstance
let endpoint: string

beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'), {
    concurrency: 64,
    retry: { initialBackoffMs: 5, maxBackoffMs: 40, maxAttempts: 100, attemptTimeoutMs: 10_000 },
    // The guard below counts requests, and the limit under test counts attempts: one per request.
    batchDelivery: false,
  })
  app = Fastify()
  // The real dispatch plugin behind a real overload guard, as a proxy or the app itself would have.
  app.addHook('onRequest', async (_request, reply) => {
    if (current >= cap) {
      throttled++
      return reply.code(429).send({ code: 'resource_exhausted', message: 'too many requests at once' })
    }
    current++
    reply.raw.once('finish', () => {
      current--
      ran++
    })
  })
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: t.scheduler.verificationKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
})
afterAll(async () => {
  await t.scheduler.close()
  await app.close()
  await removeFolder(folder)
})

const limitNow = async () => (await t.scheduler.stats()).endpoints.find((e) => e.endpoint === endpoint)?.limit

describe('adaptive concurrency', () => {
  it('settles near the concurrency an endpoint accepts, and grows again once it accepts more', async () => {
    await t.dispatch(Array.from({ length: 1500 }, () => ({ endpoint, function: 'work', input: value([]) })))
    // Once a few hundred calls ran, the limit has come down from its initial 32 to around N.
    await eventually(() => (ran >= 300 ? true : undefined))
    expect(throttled).toBeGreaterThan(0)
    const samples: number[] = []
    while (ran < 1200) {
      const limit = await limitNow()
      if (limit !== undefined) samples.push(limit)
      await eventually(() => (ran >= 300 + samples.length * 50 ? true : undefined))
    }
    const sorted = [...samples].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]!
    expect(median).toBeGreaterThanOrEqual(N / 2)
    expect(median).toBeLessThanOrEqual(N * 1.5)
    // Nearly everything was accepted at the settled limit: the 429s came in the first window.
    const throttledSettled = throttled
    await eventually(async () => ((await t.scheduler.stats()).unfinished === 0 ? true : undefined))
    expect(throttled - throttledSettled).toBeLessThan(100)

    // The endpoint recovers: the limit climbs back above what the endpoint used to accept.
    cap = Number.POSITIVE_INFINITY
    await t.dispatch(Array.from({ length: 3000 }, () => ({ endpoint, function: 'work', input: value([]) })))
    await eventually(async () => ((await limitNow())! >= 2 * N ? true : undefined))
  })

  it('checks its bounds (DSP3601)', () => {
    expect(() => resolveSchedulerOptions({ dbPath: 'x', adaptiveConcurrency: { min: 10, max: 5 } })).toThrow(
      /DSP3601|min/,
    )
    expect(() => resolveSchedulerOptions({ dbPath: 'x', adaptiveConcurrency: { decrease: 1 } })).toThrow(/decrease/)
    expect(() => resolveSchedulerOptions({ dbPath: 'x', fairness: { weights: { a: 0 } } })).toThrow(/weight/)
    const resolved = resolveSchedulerOptions({ dbPath: 'x', concurrency: 50 })
    expect(resolved.adaptiveConcurrency).toEqual({ min: 1, max: 50, initial: 32, decrease: 0.75 })
  })
})

describe('AdaptiveConcurrency (AIMD)', () => {
  const origin = 'http://127.0.0.1:1'
  const make = () => new AdaptiveConcurrency({ min: 2, max: 40, initial: 20, decrease: 0.5 })
  const limitOf = (a: AdaptiveConcurrency) => a.snapshot().find((e) => e.endpoint === origin)!.limit

  it('decreases once per window however many attempts of that window are throttled', () => {
    const a = make()
    expect(a.available(origin)).toBe(20)
    const tokens = Array.from({ length: 20 }, () => a.start(origin))
    for (const token of tokens) a.end(origin, token, 'STATUS_THROTTLED')
    expect(limitOf(a)).toBe(10)
    // An attempt started after the decrease can decrease again.
    a.end(origin, a.start(origin), 'STATUS_TCP_ERROR')
    expect(limitOf(a)).toBe(5)
    for (let i = 0; i < 10; i++) a.end(origin, a.start(origin), 'STATUS_TIMEOUT')
    expect(limitOf(a)).toBe(2) // min
  })

  it('grows by about one per limit of successes while in use, up to max, and not when idle', () => {
    const a = make()
    // Idle: one attempt at a time never uses half of the limit.
    for (let i = 0; i < 100; i++) a.end(origin, a.start(origin), 'STATUS_OK')
    expect(limitOf(a)).toBe(20)
    const busy = () => {
      const tokens = Array.from({ length: a.available(origin) || 1 }, () => a.start(origin))
      for (const token of tokens) a.end(origin, token, 'STATUS_OK')
    }
    busy()
    expect(limitOf(a)).toBeGreaterThanOrEqual(20)
    for (let i = 0; i < 200; i++) busy()
    expect(limitOf(a)).toBe(40) // max
    // Function-level failures say nothing about overload.
    a.end(origin, a.start(origin), 'STATUS_PERMANENT_ERROR')
    expect(limitOf(a)).toBe(40)
  })

  it('hands out slots a quarter of the limit at a time while attempts are in flight', () => {
    const a = make()
    const tokens = Array.from({ length: 20 }, () => a.start(origin))
    expect(a.available(origin)).toBe(0)
    for (const token of tokens.slice(0, 4)) a.end(origin, token, undefined)
    expect(a.available(origin)).toBe(0) // 4 free of 20: less than a quarter
    a.end(origin, tokens[4]!, undefined)
    expect(a.available(origin)).toBe(5)
  })
})
