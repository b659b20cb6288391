import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import {
  all,
  createClient,
  currentCall,
  defineRoutes,
  PermanentError,
  TemporaryError,
  tupleSchema,
} from '../../runtime/index.js'
import { createNodeHandler } from '../../runtime/node/index.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

const BATCH_TYPE = 'application/vnd.dispatch.batch+json'

/** Runs seen by the endpoints, by function and argument. */
const runs: string[] = []
let releaseSlow: (() => void) | undefined
const slowGate = new Promise<void>((resolve) => {
  releaseSlow = resolve
})
/** Set once the node endpoint's connections were cut: the hanging call answers from then on. */
let cut = false
let releaseHang: (() => void) | undefined
const hangGate = new Promise<void>((resolve) => {
  releaseHang = resolve
})

/** Attempts of `flaky` so far, by argument: its first attempt fails (retried), its second succeeds. */
const flakyAttempts = new Map<string, number>()
/** Gates of `gated` calls, by argument. */
const gates = new Map<string, () => void>()
/** The client the `fanOut` coroutine calls `fast` with (set once the endpoint and scheduler run). */
let children: ReturnType<typeof createClient<{ fast: { args: [x: unknown]; output: unknown } }>> | undefined

const any = { input: tupleSchema([{}], 0), output: {}, source: 'test/scheduler/batchDelivery.test.ts:1' }
const routes = defineRoutes({
  /** Its own call's context, read after an await (so after the other calls of its batch started). */
  who: {
    ...any,
    handler: async (x: unknown) => {
      await new Promise((resolve) => setImmediate(resolve))
      runs.push(`who:${String(x)}`)
      return { x, id: currentCall().dispatchId, fn: currentCall().function }
    },
  },
  flaky: {
    ...any,
    handler: (x: unknown) => {
      const attempt = (flakyAttempts.get(String(x)) ?? 0) + 1
      flakyAttempts.set(String(x), attempt)
      if (attempt === 1) throw new TemporaryError(`first attempt of ${String(x)}`)
      return { flaky: x, attempt }
    },
  },
  refuse: {
    ...any,
    handler: (x: unknown) => {
      throw new PermanentError(`no ${String(x)}`)
    },
  },
  typed: {
    input: tupleSchema([Type.Integer()]),
    output: Type.Integer(),
    handler: (n: number) => n + 1,
    source: 'test/scheduler/batchDelivery.test.ts:2',
  },
  gated: {
    ...any,
    handler: (x: unknown) => {
      runs.push(`gated:${String(x)}`)
      return new Promise((resolve) => gates.set(String(x), () => resolve({ gated: x })))
    },
  },
  fanOut: {
    ...any,
    handler: async (n: number) => {
      const results = await all(Array.from({ length: n }, (_, i) => children!.fast.call(`child${i}`)))
      return results.length
    },
  },
  fast: {
    ...any,
    handler: (x: unknown) => {
      runs.push(`fast:${String(x)}`)
      return { fast: x }
    },
  },
  slow: {
    ...any,
    handler: async (x: unknown) => {
      runs.push(`slow:${String(x)}`)
      await slowGate
      return { slow: x }
    },
  },
  stuck: {
    ...any,
    handler: async (x: unknown) => {
      runs.push(`stuck:${String(x)}`)
      await hangGate
      return { stuck: x }
    },
  },
  hang: {
    ...any,
    handler: async (x: unknown) => {
      runs.push(`hang:${String(x)}`)
      if (!cut) await hangGate
      return { hang: x }
    },
  },
})

/** What each endpoint received: the number of calls of every batched request, and the single ones. */
interface Seen {
  batches: number[]
  singles: number
  /** The calls of every batched request: function, and `resumed` for a coroutine's resumed turn. */
  batchCalls?: string[][]
}

function countBody(seen: Seen, type: unknown, body: Buffer | undefined): void {
  if (typeof type === 'string' && type.startsWith(BATCH_TYPE) && body !== undefined) {
    const { calls } = JSON.parse(body.toString('utf8')) as { calls: { function: string; pollResult?: unknown }[] }
    seen.batches.push(calls.length)
    seen.batchCalls?.push(calls.map((c) => (c.pollResult === undefined ? c.function : `${c.function}:resumed`)))
  } else seen.singles++
}

/** The batched requests `seen` got since `from` (an index in its batches) that carried a call of `fn`. */
function batchesWith(seen: Seen, from: number, fn: string): string[][] {
  return (seen.batchCalls ?? []).slice(from).filter((calls) => calls.includes(fn))
}

let folder: string
let t: TestScheduler
let fastify: FastifyInstance
let fastifyUrl: string
const fastifySeen: Seen = { batches: [], singles: 0, batchCalls: [] }
/** When false, the Fastify endpoint acts like one without the extension: no header, batches refused. */
let advertise = true
let refusedBatches = 0
let node: Server
let nodeUrl: string
const nodeSeen: Seen = { batches: [], singles: 0 }

beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'), {
    batchDelivery: { maxCalls: 16 },
    functions: { stuck: { attemptTimeoutMs: 300, maxAttempts: 1 } },
  })
  fastify = Fastify()
  fastify.addHook('onRequest', (request, reply, done) => {
    const type = request.headers['content-type']
    if (!advertise && typeof type === 'string' && type.startsWith(BATCH_TYPE)) {
      refusedBatches++
      void reply.code(415).send({ code: 'invalid_argument', message: 'unsupported media type' })
      return
    }
    done()
  })
  fastify.addHook('preHandler', (request, _reply, done) => {
    countBody(fastifySeen, request.headers['content-type'], request.body as Buffer | undefined)
    done()
  })
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (!advertise) reply.removeHeader('dispatch-batch')
    done(null, payload)
  })
  await fastify.register(dispatchPlugin, {
    routes,
    verificationKey: t.scheduler.verificationKeyPem,
    endpointUrl: () => fastify.listeningOrigin,
  })
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  fastifyUrl = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`
  children = createClient<{ fast: { args: [x: unknown]; output: unknown } }>(
    { fast: 1 },
    { endpoint: fastifyUrl, apiUrl: t.scheduler.url, apiKey: t.scheduler.apiKey },
  )

  let nodeOrigin = ''
  const handler = createNodeHandler({
    routes,
    verificationKey: t.scheduler.verificationKeyPem,
    endpointUrl: () => nodeOrigin,
  })
  node = createServer((request, response) => {
    const type = request.headers['content-type']
    if (typeof type === 'string' && type.startsWith(BATCH_TYPE)) {
      // Read here to count the calls, then handed on as express.raw() would.
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        const body = Buffer.concat(chunks)
        countBody(nodeSeen, type, body)
        Object.assign(request, { body })
        void handler(request, response)
      })
      return
    }
    nodeSeen.singles++
    void handler(request, response)
  })
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve))
  nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`
  nodeOrigin = nodeUrl
})

afterAll(async () => {
  releaseSlow?.()
  releaseHang?.()
  for (const open of gates.values()) open()
  await t?.scheduler.close()
  await fastify?.close()
  node?.closeAllConnections()
  await new Promise((resolve) => node?.close(resolve))
  await removeFolder(folder)
})

const succeeded = async (id: string) => {
  const call = await t.calls.get(id)
  return call.state === 'succeeded' ? call : undefined
}

describe('batched delivery', () => {
  it('sends a lone call alone, then batches to an endpoint that advertised it; fast results are recorded while a slow call of the same batch still runs', async () => {
    const [first] = await t.dispatch([{ endpoint: fastifyUrl, function: 'fast', input: value([0]) }])
    expect((await t.settle(first!)).state).toBe('succeeded')
    expect(fastifySeen).toMatchObject({ batches: [], singles: 1 })

    const ids = await t.dispatch([
      { endpoint: fastifyUrl, function: 'slow', input: value(['s']) },
      ...[1, 2, 3, 4, 5].map((n) => ({ endpoint: fastifyUrl, function: 'fast', input: value([n]) })),
    ])
    const [slow, ...fast] = ids
    for (const id of fast) await eventually(() => succeeded(id!))
    // Every fast call is recorded while the slow one has not returned (its gate is still closed).
    expect(runs).toContain('slow:s')
    expect((await t.calls.get(slow!)).state).not.toBe('succeeded')
    expect(Math.max(...fastifySeen.batches)).toBeGreaterThanOrEqual(2)
    releaseSlow?.()
    const done = await t.settle(slow!)
    expect(done).toMatchObject({ state: 'succeeded', output: value({ slow: 's' }) })
    for (const id of fast) expect((await t.calls.get(id!)).attempts).toBe(1)
    expect(runs.filter((r) => r.startsWith('fast:')).sort()).toEqual(
      ['fast:0', 'fast:1', 'fast:2', 'fast:3', 'fast:4', 'fast:5'].sort(),
    )
  })

  it('on node:http, a stream cut mid-batch leaves the unanswered call to be retried; nothing is lost', async () => {
    const [warm] = await t.dispatch([{ endpoint: nodeUrl, function: 'fast', input: value(['warm']) }])
    expect((await t.settle(warm!)).state).toBe('succeeded')
    const ids = await t.dispatch([
      { endpoint: nodeUrl, function: 'hang', input: value(['h']) },
      ...['a', 'b', 'c'].map((x) => ({ endpoint: nodeUrl, function: 'fast', input: value([x]) })),
    ])
    const [hang, ...fast] = ids
    for (const id of fast) await eventually(() => succeeded(id!))
    await eventually(() => (runs.includes('hang:h') ? true : undefined))
    expect(Math.max(...nodeSeen.batches)).toBeGreaterThanOrEqual(2)
    // The endpoint goes away mid-batch: its connections are cut with the hanging call unanswered.
    cut = true
    node.closeAllConnections()
    const done = await t.settle(hang!)
    expect(done).toMatchObject({ state: 'succeeded', output: value({ hang: 'h' }) })
    expect(done.attempts).toBeGreaterThanOrEqual(2)
    for (const id of fast) expect((await t.calls.get(id!)).attempts).toBe(1)
  })

  it('keeps each call of a batch to its own attempt timeout', async () => {
    const ids = await t.dispatch([
      { endpoint: fastifyUrl, function: 'stuck', input: value(['t']) },
      ...['x', 'y'].map((x) => ({ endpoint: fastifyUrl, function: 'fast', input: value([x]) })),
    ])
    const [stuck, ...fast] = ids
    for (const id of fast) expect((await t.settle(id!)).state).toBe('succeeded')
    const timedOut = await t.settle(stuck!)
    expect(timedOut).toMatchObject({ state: 'failed', status: 'STATUS_TIMEOUT' })
  })

  it('gives each call of a batch its own currentCall(), read after the others started', async () => {
    const from = fastifySeen.batchCalls!.length
    const ids = await t.dispatch(
      [1, 2, 3, 4].map((n) => ({ endpoint: fastifyUrl, function: 'who', input: value([n]) })),
    )
    for (const [n, id] of ids.entries()) {
      expect(await t.settle(id!)).toMatchObject({
        state: 'succeeded',
        output: value({ x: n + 1, id, fn: 'who' }),
      })
    }
    expect(batchesWith(fastifySeen, from, 'who').some((calls) => calls.length >= 2)).toBe(true)
  })

  it('maps each call of a batch to its own status: validation, a retried error, a permanent one, a success', async () => {
    const from = fastifySeen.batchCalls!.length
    const [invalid, flaky, refused, typed] = await t.dispatch([
      { endpoint: fastifyUrl, function: 'typed', input: value(['not a number']) },
      { endpoint: fastifyUrl, function: 'flaky', input: value(['f']) },
      { endpoint: fastifyUrl, function: 'refuse', input: value(['r']) },
      { endpoint: fastifyUrl, function: 'typed', input: value([41]) },
    ])
    expect(await t.settle(invalid!)).toMatchObject({ state: 'failed', status: 'STATUS_INVALID_ARGUMENT', attempts: 1 })
    expect(await t.settle(flaky!)).toMatchObject({
      state: 'succeeded',
      attempts: 2,
      output: value({ flaky: 'f', attempt: 2 }),
    })
    const permanent = await t.settle(refused!)
    expect(permanent).toMatchObject({ state: 'failed', status: 'STATUS_PERMANENT_ERROR', attempts: 1 })
    expect(permanent.error).toMatchObject({ type: 'PermanentError', message: 'no r' })
    expect(await t.settle(typed!)).toMatchObject({ state: 'succeeded', output: value(42) })
    // They went together: one batch carried the four first attempts.
    expect(batchesWith(fastifySeen, from, 'refuse')[0]?.sort()).toEqual(['flaky', 'refuse', 'typed', 'typed'])
  })

  it('runs a coroutine whose children go out in batches, and resumes it with their results', async () => {
    const from = fastifySeen.batchCalls!.length
    const [id] = await t.dispatch([{ endpoint: fastifyUrl, function: 'fanOut', input: value([6]) }])
    expect(await t.settle(id!)).toMatchObject({ state: 'succeeded', output: value(6) })
    const kids = await t.calls.list({ parentDispatchId: id! })
    expect(kids.calls).toHaveLength(6)
    for (const kid of kids.calls) expect(kid.state).toBe('succeeded')
    // The six children were started by one Poll, so they were ready together: batched.
    expect(batchesWith(fastifySeen, from, 'fast').some((calls) => calls.filter((c) => c === 'fast').length >= 2)).toBe(
      true,
    )
  })

  it('leaves a call cancelled while its batch runs cancelled, and records the others of the batch', async () => {
    const from = fastifySeen.batchCalls!.length
    const [gated, ...fast] = await t.dispatch([
      { endpoint: fastifyUrl, function: 'gated', input: value(['c']) },
      ...['p', 'q', 'r'].map((x) => ({ endpoint: fastifyUrl, function: 'fast', input: value([`cancel-${x}`]) })),
    ])
    for (const id of fast) expect((await t.settle(id!)).state).toBe('succeeded')
    await eventually(() => (runs.includes('gated:c') ? true : undefined))
    expect(batchesWith(fastifySeen, from, 'gated')[0]).toHaveLength(4)
    expect((await t.calls.cancel(gated!)).state).toBe('cancelled')
    // Its answer still comes on the stream, and changes nothing.
    gates.get('c')!()
    await eventually(() => (t.scheduler.inFlight === 0 ? true : undefined))
    expect(await t.calls.get(gated!)).toMatchObject({ state: 'cancelled', attempts: 1 })
  })

  it('falls back to one call per request when an endpoint stops advertising batches', async () => {
    advertise = false
    const before = fastifySeen.batches.length
    const ids = await t.dispatch(
      [1, 2, 3, 4].map((n) => ({ endpoint: fastifyUrl, function: 'fast', input: value([`f${n}`]) })),
    )
    for (const id of ids) expect((await t.settle(id!)).state).toBe('succeeded')
    const again = await t.dispatch(
      [5, 6, 7].map((n) => ({ endpoint: fastifyUrl, function: 'fast', input: value([`f${n}`]) })),
    )
    for (const id of again) expect((await t.settle(id!)).state).toBe('succeeded')
    // At most the one batch refused (sent before the scheduler learnt), and none after.
    expect(refusedBatches).toBeLessThanOrEqual(1)
    expect(fastifySeen.batches.length).toBe(before)
    for (const n of [1, 2, 3, 4, 5, 6, 7]) expect(runs.filter((r) => r === `fast:f${n}`)).toHaveLength(1)
  })
})
