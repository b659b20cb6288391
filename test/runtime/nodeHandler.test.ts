import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defineRoutes, tupleSchema } from 'dispatch-functions'
import { createNodeHandler, RUN_PATH } from 'dispatch-functions/node'
import express from 'express'
import { Type } from 'typebox'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RUN, runRequest } from './helpers/endpointApp.js'
import { postRaw, signedFor } from './helpers/realEndpoint.js'
import { calls, routes } from './helpers/testRoutes.js'
import { vectors } from './helpers/vectors.js'

// What only the node:http handler has to get right: where it is mounted in Express, and the body
// parsers that may run before it.

const body = JSON.stringify(runRequest('add', [1, 2]))
let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
  vi.restoreAllMocks()
})

/** An Express app built by `build` around a handler whose own URL is `origin + prefix`; its origin. */
async function start(prefix: string, build: (app: express.Express, origin: () => string) => void): Promise<string> {
  const app = express()
  let origin = ''
  build(app, () => origin + prefix)
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server!.once('listening', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return origin
}

const handler = (endpointUrl: () => string) =>
  createNodeHandler({ routes, verificationKey: vectors.key.public_pem, endpointUrl, onFailure: () => {} })

describe('createNodeHandler in Express', () => {
  it('mounted with app.use under a path, serves the Run route there and hands everything else to next()', async () => {
    const origin = await start('/dispatch', (app, url) => {
      app.use('/dispatch', handler(url))
      app.use(express.json())
      app.post('/dispatch/other', (request, response) => {
        response.json({ other: request.body })
      })
    })
    const before = calls.count
    const answer = await postRaw(`${origin}/dispatch${RUN}`, signedFor(`${origin}/dispatch`, body), body)
    expect(answer.status).toBe(200)
    expect(calls.count).toBe(before + 1)
    const other = await fetch(`${origin}/dispatch/other`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(await other.json()).toEqual({ other: { a: 1 } })
  })

  it('behind express.json(), whose parsing lost the signed bytes, answers 500 with DSP2250 and says why on stderr', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const origin = await start('', (app, url) => {
      app.use(express.json())
      app.post(RUN_PATH, handler(url))
    })
    const before = calls.count
    const answer = await postRaw(origin + RUN, signedFor(origin, body), body)
    expect(answer.status).toBe(500)
    expect(JSON.parse(answer.body).message).toMatch(/^DSP2250: /)
    expect(calls.count).toBe(before)
    expect(stderr.mock.calls.map(([text]) => String(text)).join('')).toMatch(/DSP2250.*body parser/)
  })

  it('behind express.raw(), uses the raw bytes it kept', async () => {
    const origin = await start('', (app, url) => {
      app.use(express.raw({ type: '*/*' }))
      app.post(RUN_PATH, handler(url))
    })
    const answer = await postRaw(origin + RUN, signedFor(origin, body), body)
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body).exit.result.output.value).toBe(3)
  })
})

describe('createNodeHandler on node:http', () => {
  it('closing the server lets a request in flight finish and then closes its keep-alive connection', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = defineRoutes({
      slow: {
        source: 'test/runtime/nodeHandler.test.ts',
        input: tupleSchema([]),
        output: Type.String(),
        handler: async () => {
          started()
          await gate
          return 'done'
        },
      },
    })
    const own = createServer(createNodeHandler({ routes: slow, verificationKey: false }))
    // Longer than the test: only the endpoint's Connection: close can end the connection in time.
    own.keepAliveTimeout = 60_000
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(own.address() as AddressInfo).port}`
    // A pool that keeps connections for a minute, like the scheduler's.
    const agent = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
    try {
      const answer = request(url + RUN, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(runRequest('slow', [])),
      })
      await running
      const closed = new Promise((resolve) => own.close(resolve))
      release()
      const response = await answer
      expect(response.statusCode).toBe(200)
      expect(response.headers['connection']).toBe('close')
      expect(JSON.parse(await response.body.text())).toMatchObject({ exit: { result: { output: { value: 'done' } } } })
      await closed
    } finally {
      release()
      own.closeAllConnections()
      await agent.close()
    }
  })
})
