import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
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

const any = { input: tupleSchema([{}], 0), output: {}, source: 'test/scheduler/batchDelivery.test.ts:1' }
const routes = defineRoutes({
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
}

function countBody(seen: Seen, type: unknown, body: Buffer | undefined): void {
  if (typeof type === 'string' && type.startsWith(BATCH_TYPE) && body !== undefined) {
    seen.batches.push((JSON.parse(body.toString('utf8')) as { calls: unknown[] }).calls.length)
  } else seen.singles++
}

let folder: string
let t: TestScheduler
let fastify: FastifyInstance
let fastifyUrl: string
const fastifySeen: Seen = { batches: [], singles: 0 }
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
    expect(fastifySeen).toEqual({ batches: [], singles: 1 })

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
