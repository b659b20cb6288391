import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createFetchHandler } from 'dispatch-functions/fetch'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { currentCall, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { createNodeHandler } from '../../runtime/node/index.js'
import { signRequest } from '../../runtime/signing/index.js'
import { RUN, runRequest, testPrivateKey } from './helpers/endpointApp.js'
import { vectors } from './helpers/vectors.js'

// The batched Run extension (docs/protocol.md §16, "Batched delivery") on every adapter: one signed
// request, the calls run at once, each answer a line streamed as soon as its call finished.

const BATCH = 'application/vnd.dispatch.batch+json'
const gates = new Map<string, () => void>()
const routes = defineRoutes({
  add: {
    input: tupleSchema([Type.Number(), Type.Number()]),
    output: Type.Number(),
    handler: (a: number, b: number) => {
      if (currentCall().function !== 'add') throw new Error('no call context')
      return a + b
    },
    source: 'test/add.ts:1',
  },
  wait: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: (key: string) => {
      const name = currentCall().function
      return new Promise<string>((resolve) => {
        gates.set(key, () => resolve(`${key} done as ${name}`))
      })
    },
    source: 'test/wait.ts:1',
  },
  /** Runs until its own call's AbortSignal fires (its expirationTime), then ends as that signal says. */
  untilExpired: {
    input: tupleSchema([]),
    output: Type.String(),
    handler: () => {
      const { signal } = currentCall()
      return new Promise<string>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
    },
    source: 'test/untilExpired.ts:1',
  },
})

function signed(url: string, body: string, contentType = BATCH): Record<string, string> {
  return {
    'content-type': contentType,
    ...signRequest({
      method: 'POST',
      url: `${url}${RUN}`,
      headers: { 'content-type': contentType },
      body,
      privateKey: testPrivateKey,
    }),
  }
}

const batchBody = (key: string) =>
  JSON.stringify({
    calls: [
      runRequest('wait', [key]),
      runRequest('add', [2, 3]),
      runRequest('add', ['two', 3]),
      runRequest('nothing', []),
    ],
  })

interface Line {
  i: number
  code: number
  answer: any
}

/** Reads lines of a streamed body until `count` more came (no timing: the stream gives them or the test times out). */
async function readLines(reader: ReadableStreamDefaultReader<Uint8Array>, state: { rest: string }, count: number) {
  const lines: Line[] = []
  const decoder = new TextDecoder()
  for (;;) {
    let newline = state.rest.indexOf('\n')
    while (newline !== -1 && lines.length < count) {
      lines.push(JSON.parse(state.rest.slice(0, newline)) as Line)
      state.rest = state.rest.slice(newline + 1)
      newline = state.rest.indexOf('\n')
    }
    if (lines.length >= count) return lines
    const { done, value } = await reader.read()
    if (done) return lines
    state.rest += decoder.decode(value, { stream: true })
  }
}

async function checkBatch(post: (body: string) => Promise<Response>, key: string): Promise<void> {
  const response = await post(batchBody(key))
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
  expect(response.headers.get('dispatch-batch')).toBe('256')
  const reader = response.body!.getReader()
  const state = { rest: '' }
  // The three quick calls answer while the slow one still waits on its gate.
  const first = await readLines(reader, state, 3)
  expect(first.map((l) => l.i).sort()).toEqual([1, 2, 3])
  const byIndex = new Map(first.map((l) => [l.i, l]))
  expect(byIndex.get(1)).toMatchObject({ code: 200, answer: { status: 'STATUS_OK' } })
  expect(byIndex.get(1)!.answer.exit.result.output.value).toBe(5)
  expect(byIndex.get(2)).toMatchObject({ code: 200, answer: { status: 'STATUS_INVALID_ARGUMENT' } })
  expect(byIndex.get(3)).toMatchObject({ code: 404, answer: { code: 'not_found' } })
  expect(gates.has(key)).toBe(true)
  gates.get(key)!()
  const last = await readLines(reader, state, 1)
  expect(last).toEqual([{ i: 0, code: 200, answer: expect.objectContaining({ status: 'STATUS_OK' }) }])
  expect(last[0]!.answer.exit.result.output.value).toBe(`${key} done as wait`)
  expect(await readLines(reader, state, 1)).toEqual([])
}

let fastify: FastifyInstance
let fastifyUrl: string
let node: Server
let nodeUrl: string

beforeAll(async () => {
  fastify = Fastify()
  await fastify.register(dispatchPlugin, {
    routes,
    verificationKey: vectors.key.public_pem,
    endpointUrl: () => fastify.listeningOrigin,
  })
  fastifyUrl = await fastify.listen({ host: '127.0.0.1', port: 0 })
  let origin = ''
  node = createServer(createNodeHandler({ routes, verificationKey: vectors.key.public_pem, endpointUrl: () => origin }))
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve))
  nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`
  origin = nodeUrl
})

afterAll(async () => {
  for (const open of gates.values()) open()
  await fastify?.close()
  node?.closeAllConnections()
  await new Promise((resolve) => node?.close(resolve))
})

const over =
  (url: string) =>
  (body: string, headers = signed(url, body)) =>
    fetch(`${url}${RUN}`, { method: 'POST', headers, body })

describe('batched Run', () => {
  it('Fastify: runs the calls at once and streams each answer as it finishes', async () => {
    await checkBatch(over(fastifyUrl), 'fastify')
  })

  it('node:http: runs the calls at once and streams each answer as it finishes', async () => {
    await checkBatch(over(nodeUrl), 'node')
  })

  it('fetch handler: runs the calls at once and streams each answer as it finishes', async () => {
    const url = 'http://app.test:8000'
    const dispatch = createFetchHandler({ routes, verificationKey: vectors.key.public_pem, endpointUrl: url })
    await checkBatch(
      (body) =>
        dispatch(
          new Request(`${url}${RUN}`, {
            method: 'POST',
            headers: { ...signed(url, body), 'content-length': String(Buffer.byteLength(body)) },
            body,
          }),
        ),
      'fetch',
    )
  })

  it("keeps each call's own deadline: one call's AbortSignal fires at its expirationTime, the others run on", async () => {
    for (const url of [fastifyUrl, nodeUrl]) {
      const key = `deadline-${url}`
      const expirationTime = new Date(Date.now() + 300).toISOString()
      const body = JSON.stringify({
        calls: [
          runRequest('wait', [key]),
          runRequest('untilExpired', [], { expirationTime }),
          runRequest('add', [1, 2]),
        ],
      })
      const response = await over(url)(body)
      expect(response.status).toBe(200)
      const reader = response.body!.getReader()
      const state = { rest: '' }
      const first = await readLines(reader, state, 2)
      const byIndex = new Map(first.map((l) => [l.i, l]))
      expect(byIndex.get(2)).toMatchObject({ code: 200, answer: { status: 'STATUS_OK' } })
      // The expired call ends as a timeout while the call without a deadline is still running.
      expect(byIndex.get(1)).toMatchObject({ code: 200, answer: { status: 'STATUS_TIMEOUT' } })
      expect(gates.has(key)).toBe(true)
      gates.get(key)!()
      const last = await readLines(reader, state, 1)
      expect(last).toMatchObject([{ i: 0, code: 200, answer: { status: 'STATUS_OK' } }])
    }
  })

  it('advertises batches on single answers and refusals too', async () => {
    const body = JSON.stringify(runRequest('add', [1, 1]))
    for (const url of [fastifyUrl, nodeUrl]) {
      const single = await over(url)(body, signed(url, body, 'application/json'))
      expect(single.status).toBe(200)
      expect(single.headers.get('dispatch-batch')).toBe('256')
      const unsigned = await over(url)(body, { 'content-type': 'application/json' })
      expect(unsigned.status).toBe(401)
      expect(unsigned.headers.get('dispatch-batch')).toBe('256')
    }
  })

  it('a server closed while a batch streams ends that connection after its last line, so close() does not wait on it', async () => {
    // A client that keeps connections as the scheduler does (longer than the servers' keep-alive).
    const dispatcher = new Agent({ keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 })
    try {
      for (const kind of ['fastify', 'node'] as const) {
        let url: string
        let close: () => Promise<unknown>
        let listening: () => boolean
        if (kind === 'fastify') {
          const app = Fastify()
          await app.register(dispatchPlugin, {
            routes,
            verificationKey: vectors.key.public_pem,
            endpointUrl: () => app.listeningOrigin,
          })
          url = await app.listen({ host: '127.0.0.1', port: 0 })
          close = () => app.close()
          listening = () => app.server.listening
        } else {
          let origin = ''
          const server = createServer(
            createNodeHandler({ routes, verificationKey: vectors.key.public_pem, endpointUrl: () => origin }),
          )
          await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
          url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
          origin = url
          close = () => new Promise((resolve) => server.close(resolve))
          listening = () => server.listening
        }
        const key = `closing-${kind}`
        const body = batchBody(key)
        // Read as the scheduler reads a batch: undici's request, the body as a stream of chunks.
        const response = await dispatcher.request({
          origin: url,
          method: 'POST',
          path: RUN,
          headers: signed(url, body),
          body,
        })
        const chunks = response.body[Symbol.asyncIterator]()
        const reader = {
          read: async () => {
            const next = await chunks.next()
            return next.done ? { done: true as const, value: undefined } : { done: false as const, value: next.value }
          },
        } as unknown as ReadableStreamDefaultReader<Uint8Array>
        const state = { rest: '' }
        expect(await readLines(reader, state, 3)).toHaveLength(3)
        const closed = close()
        // The last call ends once the server has stopped listening: its connection was busy then.
        while (listening()) await new Promise((resolve) => setImmediate(resolve))
        gates.get(key)!()
        expect(await readLines(reader, state, 1)).toMatchObject([{ i: 0, code: 200 }])
        // Resolves only once the connection is gone: the client would keep it for minutes.
        await closed
      }
    } finally {
      await dispatcher.close()
    }
  })

  it('refuses a malformed batch or one signed for another body as a whole, running nothing', async () => {
    for (const url of [fastifyUrl, nodeUrl]) {
      const refused: [string, RegExp][] = [
        ['not json', /^DSP2271: the batch is not JSON: /],
        ['[{"function":"add"}]', /^DSP2272: the batch is not \{"calls":\[RunRequest, …\]\}: the body is an array; /],
        ['null', /^DSP2272: .*: the body is null; /],
        ['{"call":[]}', /^DSP2272: .*: it has no "calls"; /],
        ['{"calls":{}}', /^DSP2272: .*: "calls" is object; /],
        ['{"calls":[]}', /^DSP2273: the batch has 0 calls; this endpoint takes 1 to 256 in one batch/],
        [`{"calls":[${'{},'.repeat(256)}{}]}`, /^DSP2273: the batch has 257 calls; this endpoint takes 1 to 256/],
      ]
      for (const [body, message] of refused) {
        const answer = await over(url)(body)
        expect(answer.status).toBe(400)
        const error = (await answer.json()) as { code: string; message: string }
        expect(error.code).toBe('invalid_argument')
        expect(error.message).toMatch(message)
      }
      const body = batchBody('never')
      const tampered = await over(url)(body.replace('"add"', '"wait"'), signed(url, body))
      expect([400, 403]).toContain(tampered.status)
    }
    expect(gates.has('never')).toBe(false)
  })
})
