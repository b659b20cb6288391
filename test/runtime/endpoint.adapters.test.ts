import { errorClassifier } from 'dispatch-functions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADAPTERS, type Adapter, type RunningEndpoint } from './helpers/adapters.js'
import { CoroutineDriver } from './helpers/coroutineDriver.js'
import { coroutineRoutes } from './helpers/coroutineRoutes.js'
import { RUN, runRequest, testPrivateKey } from './helpers/endpointApp.js'
import { postRaw, rawSocket, signedFor, until } from './helpers/realEndpoint.js'
import { digestOf, signCustom } from './helpers/signCustom.js'
import { calls, routes, thrower } from './helpers/testRoutes.js'
import { vectors } from './helpers/vectors.js'
import { withEnv } from './helpers/withEnv.js'

// The endpoint's behaviour, whichever framework serves it: every case runs against every adapter
// (Fastify, node:http, Express, Hono on @hono/node-server, and the fetch handler behind a node:http
// server through Node's own Request and Response), each a real server on 127.0.0.1.

const KEY = vectors.key.public_pem
const add = JSON.stringify(runRequest('add', [20, 22]))

const json = (text: string) => JSON.parse(text) as any

class QuotaError extends Error {}
class LibraryError extends Error {
  constructor(readonly retryable: boolean) {
    super('library failure')
  }
}
const classifiers = [
  { error: QuotaError, status: 'STATUS_THROTTLED' as const },
  errorClassifier(LibraryError, (e) => (e.retryable ? undefined : 'STATUS_PERMANENT_ERROR')),
]

/** Signature headers made by hand for `url` (its authority and Run path), with `params` after the components. */
function customSigned(url: string, body: string, params: string, components?: string[]): Record<string, string> {
  const target = new URL(url + RUN)
  const headers = { 'content-type': 'application/json', 'content-digest': digestOf('sha512', body) }
  return {
    ...headers,
    ...signCustom({
      path: target.pathname,
      authority: target.host,
      headers,
      params,
      privateKey: testPrivateKey,
      ...(components === undefined ? {} : { components }),
    }),
  }
}

describe.each(ADAPTERS)('$name', (adapter: Adapter) => {
  let signed: RunningEndpoint
  let other: RunningEndpoint
  let prefixed: RunningEndpoint
  let small: RunningEndpoint
  let unsigned: RunningEndpoint

  beforeAll(async () => {
    ;[signed, other, prefixed, small, unsigned] = await Promise.all([
      adapter.start({ routes, verificationKey: KEY, classifiers, endpoint: 'http://self.test:8000' }),
      adapter.start({ routes, verificationKey: KEY }),
      adapter.start({ routes, verificationKey: KEY, prefix: '/a' }),
      adapter.start({ routes, verificationKey: KEY, bodyLimit: 4096 }),
      adapter.start({ routes: coroutineRoutes, verificationKey: false }),
    ])
  })
  afterAll(async () => {
    await Promise.all([signed, other, prefixed, small, unsigned].map((endpoint) => endpoint?.close()))
  })

  const post = (endpoint: RunningEndpoint, body: string, headers = signedFor(endpoint.url, body)) =>
    postRaw(endpoint.url + RUN, headers, body)

  describe('signatures', () => {
    it('runs a request signed for its own URL, once', async () => {
      const before = calls.count
      const answer = await post(signed, add)
      expect(answer.status).toBe(200)
      expect(answer.headers['content-type']).toMatch(/^application\/json/)
      expect(json(answer.body)).toEqual({
        status: 'STATUS_OK',
        exit: { result: { output: { '@type': 'type.googleapis.com/google.protobuf.Value', value: 42 } } },
      })
      expect(calls.count).toBe(before + 1)
    })

    it('refuses an unsigned request 401 and closes the connection', async () => {
      const answer = await postRaw(signed.url + RUN, { 'content-type': 'application/json' }, add)
      expect(answer.status).toBe(401)
      expect(json(answer.body)).toMatchObject({ code: 'unauthenticated' })
      expect(answer.headers['connection']).toBe('close')
    })

    it('answers an unsigned request before its body arrives', async () => {
      const client = rawSocket(
        signed.origin,
        `POST ${RUN} HTTP/1.1\r\nhost: ${new URL(signed.origin).host}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`,
      )
      try {
        await until(() => /\r\n\r\n.*\}/s.test(client.received()), 5_000)
        expect(client.received()).toMatch(/^HTTP\/1\.1 401 /)
        expect(client.received().toLowerCase()).toContain('connection: close')
      } finally {
        client.socket.destroy()
      }
    })

    it('refuses a request signed for another endpoint, whatever Host it carries, running nothing', async () => {
      const before = calls.count
      const forOther = signedFor(other.url, add)
      const asHere = await post(signed, add, { ...forOther, host: new URL(signed.url).host })
      expect(asHere.status).toBe(403)
      expect(json(asHere.body).code).toBe('permission_denied')
      expect(json(asHere.body).message).toContain('DSP2241')
      expect(json(asHere.body).message).toContain(new URL(signed.url).host)
      expect(asHere.headers['connection']).toBe('close')
      const asOther = await post(signed, add, { ...forOther, host: new URL(other.url).host })
      expect(json(asOther.body).message).toMatch(/DSP2241.*was sent to .*signed for another endpoint never runs here/)
      expect(calls.count).toBe(before)
      expect((await post(other, add, forOther)).status).toBe(200)
    })

    it('under a mount prefix, runs what was signed for it and refuses what was signed for none', async () => {
      expect((await post(prefixed, add)).status).toBe(200)
      const forRoot = signedFor(prefixed.origin, add)
      expect((await post(prefixed, add, forRoot)).status).toBe(403)
    })

    it('refuses a tampered body 403, and runs nothing', async () => {
      const before = calls.count
      const tampered = JSON.stringify(runRequest('add', [20, 23]))
      const answer = await post(signed, tampered, signedFor(signed.url, add))
      expect(answer.status).toBe(403)
      expect(json(answer.body).message).toMatch(/Content-Digest/)
      expect(calls.count).toBe(before)
    })

    it('runs the same signed bytes once: a replay is refused 401 with DSP2242', async () => {
      const headers = signedFor(signed.url, add)
      expect((await post(signed, add, headers)).status).toBe(200)
      const replay = await post(signed, add, headers)
      expect(replay.status).toBe(401)
      expect(json(replay.body).message).toContain('DSP2242')
      expect(replay.headers['connection']).toBe('close')
    })

    it('checks the signature before the content type and the JSON', async () => {
      const answer = await post(signed, 'not json', {
        ...signedFor(other.url, 'not json'),
        'content-type': 'text/plain',
      })
      expect(answer.status).toBe(403)
      const signedText = {
        ...signedFor(signed.url, 'x'),
      }
      // Signed as application/json, it passes the signature and then fails as JSON.
      expect(json((await post(signed, 'x', signedText)).body)).toMatchObject({
        code: 'invalid_argument',
        message: expect.stringMatching(/not JSON/),
      })
    })

    it('refuses a signature too old or made in the future (403), by another key id or not covering what it must (401)', async () => {
      const now = Math.floor(Date.now() / 1000)
      const keyed = ';keyid="default";alg="ed25519"'
      const refusal = async (headers: Record<string, string>) => {
        const answer = await post(signed, add, headers)
        return { status: answer.status, message: json(answer.body).message as string }
      }
      expect(await refusal(customSigned(signed.url, add, `;created=${now - 400}${keyed}`))).toMatchObject({
        status: 403,
        message: expect.stringContaining('too old'),
      })
      expect(await refusal(customSigned(signed.url, add, `;created=${now + 60}${keyed}`))).toMatchObject({
        status: 403,
        message: expect.stringContaining('future'),
      })
      expect((await refusal(customSigned(signed.url, add, `;created=${now};keyid="other";alg="ed25519"`))).status).toBe(
        401,
      )
      const partial = customSigned(signed.url, add, `;created=${now}${keyed}`, ['@method', '@path', '@authority'])
      expect(await refusal(partial)).toMatchObject({ status: 401, message: expect.stringContaining('content-type') })
      // The same hand-made signature, complete and fresh, runs: the refusals were for what they say.
      expect((await refusal(customSigned(signed.url, add, `;created=${now}${keyed}`))).status).toBe(200)
    })

    it('an endpointUrl function that gives no usable URL answers 500 with DSP2207 and no detail', async () => {
      const broken = await adapter.start({ routes, verificationKey: KEY, endpointUrl: () => 'not a url' })
      try {
        const before = calls.count
        const answer = await post(broken, add, signedFor(broken.origin, add))
        expect(answer.status).toBe(500)
        expect(json(answer.body).message).toMatch(/^DSP2207: the endpoint failed to handle the request/)
        expect(answer.body).not.toContain('not a url')
        expect(calls.count).toBe(before)
      } finally {
        await broken.close()
      }
    })
  })

  describe('requests and answers', () => {
    it('answers 404 to a GET of the Run path', async () => {
      const response = await fetch(signed.url + RUN)
      expect(response.status).toBe(404)
      await response.arrayBuffer()
    })

    it('answers 404 to an unknown function', async () => {
      const body = JSON.stringify(runRequest('nope', []))
      const answer = await post(signed, body)
      expect(answer.status).toBe(404)
      expect(json(answer.body)).toMatchObject({ code: 'not_found', message: expect.stringContaining('"nope"') })
    })

    it('refuses a signed body that is not a RunRequest, or not JSON, with 400', async () => {
      const notRun = JSON.stringify({ fn: 'add' })
      expect(json((await post(signed, notRun)).body)).toMatchObject({
        code: 'invalid_argument',
        message: expect.stringContaining('not a RunRequest'),
      })
    })

    it('validates the arguments against the route schema, naming each problem', async () => {
      const body = JSON.stringify(runRequest('publish', ['not a uri', { n: -1, tags: [1] }]))
      const answer = json((await post(signed, body)).body)
      expect(answer.status).toBe('STATUS_INVALID_ARGUMENT')
      expect(answer.exit.result.error.message).toContain('$[0]: must match format "uri"')
      expect(answer.exit.result.error.message).toContain('$[1].n: must be >= 0')
    })

    it('answers INVALID_RESPONSE to a result that breaks the output schema', async () => {
      const answer = json((await post(signed, JSON.stringify(runRequest('badOutput', [])))).body)
      expect(answer.status).toBe('STATUS_INVALID_RESPONSE')
    })

    it('classifies what a function throws, with its type, message and traceback', async () => {
      thrower.next = () => new TypeError('bad thing')
      const answer = json((await post(signed, JSON.stringify(runRequest('fail', [])))).body)
      expect(answer.status).toBe('STATUS_TEMPORARY_ERROR')
      expect(answer.exit.result.error).toMatchObject({ type: 'TypeError', message: 'bad thing' })
      expect(Buffer.from(answer.exit.result.error.traceback, 'base64').toString()).toContain('TypeError: bad thing')
      thrower.next = () => Object.assign(new Error('no such file'), { code: 'ENOENT' })
      expect(json((await post(signed, JSON.stringify(runRequest('fail', [])))).body).status).toBe('STATUS_NOT_FOUND')
    })

    it('gives the function its call context (currentCall) across awaits', async () => {
      const body = JSON.stringify({ ...runRequest('context', []), dispatchId: 'd-1', rootDispatchId: 'r-1' })
      const answer = json((await post(signed, body)).body)
      expect(answer.exit.result.output.value).toMatchObject({
        function: 'context',
        dispatchId: 'd-1',
        rootDispatchId: 'r-1',
        aborted: false,
      })
    })

    it('refuses missing and extra arguments, and an input that is not an array of arguments', async () => {
      for (const args of [[1], [1, 2, 3]]) {
        const answer = json((await post(signed, JSON.stringify(runRequest('add', args)))).body)
        expect(answer.status).toBe('STATUS_INVALID_ARGUMENT')
      }
      const notArray = { function: 'add', input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: 3 } }
      expect(json((await post(signed, JSON.stringify(notArray))).body).exit.result.error.message).toContain(
        'must be an array of positional arguments',
      )
    })

    it('validates TypeBox 0.34 schemas with formats, and runs omitted optional arguments with their defaults', async () => {
      const bad = json((await post(signed, JSON.stringify(runRequest('legacy', [{ id: 'nope' }])))).body)
      expect(bad.exit.result.error.message).toContain('$[0].id: must match format "uuid"')
      const id = '3f1c2a4e-8b7d-4c3a-9e2f-1a2b3c4d5e6f'
      expect(
        json((await post(signed, JSON.stringify(runRequest('legacy', [{ id }])))).body).exit.result.output.value,
      ).toBe(id)
      expect(
        json((await post(signed, JSON.stringify(runRequest('greet', ['ada'])))).body).exit.result.output.value,
      ).toBe('hello ada')
    })

    it('classifies with the classifiers option, most specific first, a declining one falling through', async () => {
      const statusOf = async (error: unknown) => {
        thrower.next = () => error
        return json((await post(signed, JSON.stringify(runRequest('fail', [])))).body).status
      }
      expect(await statusOf(new QuotaError('q'))).toBe('STATUS_THROTTLED')
      expect(await statusOf(new LibraryError(false))).toBe('STATUS_PERMANENT_ERROR')
      expect(await statusOf(new LibraryError(true))).toBe('STATUS_TEMPORARY_ERROR')
    })

    it('aborts the call signal at the expiration time, and the abort is a TIMEOUT', async () => {
      const expirationTime = new Date(Date.now() + 100).toISOString()
      const answer = json(
        (await post(signed, JSON.stringify(runRequest('waitForExpiration', [], { expirationTime })))).body,
      )
      expect(answer.status).toBe('STATUS_TIMEOUT')
    })

    it('answers tail calls, to the client’s endpoint or else to the endpoint option', async () => {
      const other = json((await post(signed, JSON.stringify(runRequest('tailOther', [1])))).body)
      expect(other.exit.tailCall).toMatchObject({ endpoint: 'http://other.test:9000', function: 'add' })
      const local = json((await post(signed, JSON.stringify(runRequest('tailLocal', [1])))).body)
      expect(local.exit.tailCall).toMatchObject({ endpoint: 'http://self.test:8000', function: 'add' })
    })

    it('runs durable coroutines across turns', async () => {
      const outcome = await new CoroutineDriver(unsigned.url).run('sumDoubles', [[1, 2, 3]])
      expect(outcome).toEqual({ status: 'STATUS_OK', output: 12 })
    })
  })

  describe('body limits', () => {
    it('refuses a body over the limit with 400, before reading it', async () => {
      const body = JSON.stringify(runRequest('greet', ['x'.repeat(5000)]))
      const answer = await post(small, body)
      expect(answer.status).toBe(400)
      expect(json(answer.body)).toMatchObject({
        code: 'invalid_argument',
        message: expect.stringMatching(/limit of 4096 bytes/),
      })
      const headers = Object.entries(signedFor(small.url, body))
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')
      const client = rawSocket(
        small.origin,
        `POST ${RUN} HTTP/1.1\r\nhost: ${new URL(small.origin).host}\r\n${headers}content-length: 100000\r\n\r\n`,
      )
      try {
        await until(() => /\r\n\r\n.*\}/s.test(client.received()), 5_000)
        expect(client.received()).toMatch(/^HTTP\/1\.1 400 /)
        expect(client.received()).toContain('limit of 4096 bytes')
      } finally {
        client.socket.destroy()
      }
    })

    it('keeps serving after a client that goes away in the middle of its body', async () => {
      const headers = Object.entries(signedFor(signed.url, add))
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')
      const client = rawSocket(
        signed.origin,
        `POST ${RUN} HTTP/1.1\r\nhost: ${new URL(signed.origin).host}\r\n${headers}content-length: ${add.length}\r\n\r\n${add.slice(0, 10)}`,
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
      client.socket.destroy()
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect((await post(signed, add)).status).toBe(200)
    })

    it('refuses a body without a Content-Length (chunked) with 400', async () => {
      const headers = Object.entries(signedFor(signed.url, add))
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')
      const chunk = `${add.length.toString(16)}\r\n${add}\r\n0\r\n\r\n`
      const client = rawSocket(
        signed.origin,
        `POST ${RUN} HTTP/1.1\r\nhost: ${new URL(signed.origin).host}\r\n${headers}transfer-encoding: chunked\r\n\r\n${chunk}`,
      )
      try {
        await until(() => /\r\n\r\n.*\}/s.test(client.received()), 5_000)
        expect(client.received()).toMatch(/^HTTP\/1\.1 400 /)
        expect(client.received()).toContain('Content-Length')
      } finally {
        client.socket.destroy()
      }
    })
  })

  describe('fails closed when created', () => {
    it('without a verification key (DSP2208), with a bad one (DSP2201), or without its own URL (DSP2206, DSP2207)', async () => {
      await withEnv(
        { DISPATCH_VERIFICATION_KEY: undefined, DISPATCH_ENDPOINT_URL: 'http://127.0.0.1:8000' },
        async () => {
          expect((await adapter.creationError({ routes })).code).toBe('DSP2208')
          expect((await adapter.creationError({ routes, verificationKey: ' ' })).code).toBe('DSP2208')
          const bad = await adapter.creationError({ routes, verificationKey: 'c2VjcmV0' })
          expect(bad.code).toBe('DSP2201')
          expect(bad.message).not.toContain('c2VjcmV0')
          expect((await adapter.creationError({ routes, verificationKey: vectors.key.private_pem })).code).toBe(
            'DSP2201',
          )
        },
      )
      await withEnv({ DISPATCH_ENDPOINT_URL: undefined }, async () => {
        expect((await adapter.creationError({ routes, verificationKey: KEY })).code).toBe('DSP2206')
      })
      const credentials = await adapter.creationError({
        routes,
        verificationKey: KEY,
        endpointUrl: 'http://user:secret@app.test',
      })
      expect(credentials.code).toBe('DSP2207')
      expect((await adapter.creationError({ routes: undefined as never, verificationKey: false })).code).toBe('DSP2205')
    })

    it('reads its key and URL from DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL', async () => {
      await withEnv({ DISPATCH_VERIFICATION_KEY: KEY, DISPATCH_ENDPOINT_URL: 'http://app.example:8000' }, async () => {
        const fromEnv = await adapter.start({ routes, endpointUrl: undefined as never })
        try {
          const answer = await post(fromEnv, add, signedFor('http://app.example:8000', add))
          expect(answer.status).toBe(200)
          expect((await post(fromEnv, add)).status).toBe(403)
        } finally {
          await fromEnv.close()
        }
      })
    })
  })
})
