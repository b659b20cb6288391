import { request as httpRequest } from 'node:http'
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../runtime/signing/index.js'
import { RUN, runRequest, testPrivateKey } from './helpers/endpointApp.js'
import { routes, thrower } from './helpers/testRoutes.js'
import { vectors } from './helpers/vectors.js'

let app: FastifyInstance
let base: string

beforeAll(async () => {
  app = Fastify()
  // The application's own routes: the plugin's raw-body parser must not reach them.
  app.post('/echo', async (request) => ({ parsed: request.body }))
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: vectors.key.public_pem,
    endpointUrl: () => app.listeningOrigin,
    bodyLimit: 4096,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  base = `http://127.0.0.1:${port}`
})
afterAll(() => app.close())

function signed(body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...signRequest({
      method: 'POST',
      url: base + RUN,
      headers: { 'content-type': 'application/json' },
      body,
      privateKey: testPrivateKey,
    }),
  }
}

/** A raw HTTP/1.1 request, so the tests control framing (chunked, no length). */
function raw(
  path: string,
  headers: Record<string, string>,
  chunks: string[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method: 'POST', headers }, (res) => {
      let text = ''
      res.on('data', (c) => {
        text += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

describe('over real HTTP', () => {
  it('runs a signed request (authority as the endpoint sees it)', async () => {
    const body = JSON.stringify(runRequest('add', [20, 22]))
    const response = await fetch(base + RUN, { method: 'POST', headers: signed(body), body })
    expect(response.status).toBe(200)
    expect(((await response.json()) as any).exit.result.output.value).toBe(42)
  })

  it('refuses a body without a length (chunked) with 400', async () => {
    const body = JSON.stringify(runRequest('add', [1, 2]))
    const response = await raw(RUN, { ...signed(body), 'transfer-encoding': 'chunked' }, [
      body.slice(0, 10),
      body.slice(10),
    ])
    expect(response.status).toBe(400)
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/Content-Length/),
    })
  })

  it('refuses a body over the limit with 400', async () => {
    const body = JSON.stringify(runRequest('greet', ['x'.repeat(5000)]))
    const response = await fetch(base + RUN, { method: 'POST', headers: signed(body), body })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/limit of 4096 bytes/),
    })
  })

  it('refuses a request without a content type with 400 once signed', async () => {
    const body = JSON.stringify(runRequest('add', [1, 2]))
    const headers = signed(body)
    const { 'content-type': _, ...rest } = headers
    const response = await raw(RUN, { ...rest, 'content-length': String(Buffer.byteLength(body)) }, [body])
    // content-type is a covered component: without it the signature cannot be checked.
    expect(response.status).toBe(403)
    expect(JSON.parse(response.body).code).toBe('permission_denied')
  })

  it('leaves the application’s other routes alone', async () => {
    const response = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(await response.json()).toEqual({ parsed: { a: 1 } })
    const notJson = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b',
    })
    expect(notJson.status).toBe(415)
  })

  it('survives user code that throws odd things and keeps serving', async () => {
    const hostile = {
      get name(): string {
        throw new Error('getter')
      },
    }
    thrower.next = () => Promise.reject(hostile)
    const body = JSON.stringify(runRequest('fail', []))
    const response = await fetch(base + RUN, { method: 'POST', headers: signed(body), body })
    expect(response.status).toBe(200)
    expect(((await response.json()) as any).status).toBe('STATUS_TEMPORARY_ERROR')
    const again = JSON.stringify(runRequest('add', [1, 1]))
    expect((await fetch(base + RUN, { method: 'POST', headers: signed(again), body: again })).status).toBe(200)
  })

  it('never shows a stack to a caller that failed verification', async () => {
    thrower.next = () => Promise.reject(new Error('secret internals'))
    const body = JSON.stringify(runRequest('fail', []))
    const response = await fetch(base + RUN, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(response.status).toBe(401)
    const text = await response.text()
    expect(text).not.toMatch(/secret internals|\.ts:\d+|traceback/)
  })
})
