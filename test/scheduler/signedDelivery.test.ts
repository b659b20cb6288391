import { createServer, request as httpRequest, type Server } from 'node:http'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { currentCall, defineRoutes, TemporaryError, tupleSchema } from '../../runtime/index.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// The scheduler signs every delivery for the URL it delivers to, and the endpoint checks that URL
// against its own: a retry is a new signature (never a replay), a relay cannot reuse a signature.

const runs = new Map<string, number>()
const failuresLeft = new Map<string, number>()
const routes = defineRoutes({
  flaky: {
    input: tupleSchema([{}]),
    output: {},
    source: 'test/scheduler/signedDelivery.test.ts:1',
    handler: (n: number) => {
      const id = currentCall().dispatchId ?? ''
      runs.set(id, (runs.get(id) ?? 0) + 1)
      const left = failuresLeft.get(id) ?? n
      failuresLeft.set(id, left - 1)
      // Fails fast: with the test scheduler's millisecond backoff, retries come within the same second.
      if (left > 0) throw new TemporaryError(`not yet (${left})`)
      return n
    },
  },
})

/** A server that forwards every request to `target` with the same headers and body (Host as `host` says). */
async function startRelay(target: string, host: 'keep' | 'target'): Promise<{ server: Server; url: string }> {
  const to = new URL(target)
  const server = createServer((incoming, outgoing) => {
    const headers = { ...incoming.headers }
    if (host === 'target') headers.host = to.host
    const forwarded = httpRequest(
      { host: to.hostname, port: to.port, path: incoming.url, method: incoming.method, headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(outgoing)
      },
    )
    forwarded.on('error', () => outgoing.destroy())
    incoming.pipe(forwarded)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { server, url: `http://127.0.0.1:${port}` }
}

let folder: string
let t: TestScheduler
let endpoint: { url: string; app: FastifyInstance }
const statuses: number[] = []
const signatures: string[] = []

beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'))
  const app = Fastify()
  app.addHook('onResponse', (request, reply, done) => {
    statuses.push(reply.statusCode)
    signatures.push(String(request.headers['signature']))
    done()
  })
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: t.scheduler.verificationKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  endpoint = { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) }
})
afterAll(async () => {
  await t.scheduler.close()
  await endpoint.app.close()
  await removeFolder(folder)
})

describe('signed delivery', () => {
  it("the scheduler's retries of the same call are new signatures, never refused as replays", async () => {
    const ids = await t.dispatch(
      Array.from({ length: 4 }, () => ({ endpoint: endpoint.url, function: 'flaky', input: value([4]) })),
    )
    for (const id of ids) {
      const call = await t.settle(id)
      expect(call.state).toBe('succeeded')
      expect(runs.get(id)).toBe(5)
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([])
    expect(new Set(signatures).size).toBe(signatures.length)
  })

  it.each(['keep', 'target'] as const)(
    'a relay that forwards requests signed for it to the endpoint (Host: %s) runs nothing there',
    async (host) => {
      const relay = await startRelay(endpoint.url, host)
      try {
        const before = runs.size
        const [id] = await t.dispatch([{ endpoint: relay.url, function: 'flaky', input: value([0]) }])
        const call = await t.settle(id!)
        expect(call.state).toBe('failed')
        expect(JSON.stringify(call)).toContain('DSP2241')
        expect(runs.size).toBe(before)
      } finally {
        await new Promise((resolve) => relay.server.close(resolve))
      }
    },
  )
})
