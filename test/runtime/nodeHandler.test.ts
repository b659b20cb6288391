import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createNodeHandler, RUN_PATH } from 'dispatch-functions/node'
import express from 'express'
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
