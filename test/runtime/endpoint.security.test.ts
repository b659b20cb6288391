import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { DispatchError } from 'dispatch-functions'
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MAX_AGE_S, ReplayCache } from '../../runtime/signing/index.js'
import { RUN, runRequest } from './helpers/endpointApp.js'
import { postRaw, rawSocket, signedFor, startSignedEndpoint, until } from './helpers/realEndpoint.js'
import { calls, routes } from './helpers/testRoutes.js'
import { vectors } from './helpers/vectors.js'
import { withEnv } from './helpers/withEnv.js'

const body = JSON.stringify(runRequest('add', [1, 2]))
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** The DispatchError that registering the plugin with `options` fails with. */
async function registrationError(options: Parameters<typeof dispatchPlugin>[1]): Promise<DispatchError> {
  const app = Fastify()
  try {
    const error = await app.register(dispatchPlugin, options).then(
      () => undefined,
      (e: unknown) => e,
    )
    if (!(error instanceof DispatchError)) throw new Error(`registration did not fail with a DispatchError: ${error}`)
    return error
  } finally {
    await app.close()
  }
}

describe('an endpoint runs only requests signed for itself', () => {
  let a: { app: FastifyInstance; origin: string; url: string }
  let b: { app: FastifyInstance; origin: string; url: string }
  let prefixed: { app: FastifyInstance; origin: string; url: string }
  beforeAll(async () => {
    a = await startSignedEndpoint({ routes })
    b = await startSignedEndpoint({ routes })
    prefixed = await startSignedEndpoint({ routes, prefix: '/a' })
  })
  afterAll(async () => {
    await Promise.all([a.app.close(), b.app.close(), prefixed.app.close()])
  })

  it('refuses a request signed for endpoint B that B forwards to A, with or without B as its Host, running nothing', async () => {
    const before = calls.count
    const forB = signedFor(b.url, body)
    const asA = await postRaw(a.url + RUN, { ...forB, host: new URL(a.url).host }, body)
    expect(asA.status).toBe(403)
    expect(JSON.parse(asA.body)).toMatchObject({ code: 'permission_denied' })
    expect(JSON.parse(asA.body).message).toContain('DSP2241')
    expect(JSON.parse(asA.body).message).toContain(new URL(a.url).host)
    expect(asA.headers['connection']).toBe('close')

    const asB = await postRaw(a.url + RUN, { ...forB, host: new URL(b.url).host }, body)
    expect(asB.status).toBe(403)
    expect(JSON.parse(asB.body).message).toMatch(/DSP2241.*was sent to .*signed for another endpoint never runs here/)
    expect(calls.count).toBe(before)

    // The same signed request runs where it was signed for.
    expect((await postRaw(b.url + RUN, forB, body)).status).toBe(200)
    expect(calls.count).toBe(before + 1)
  })

  it('checks the signature against its own URL, not the Host it receives (a proxy may rewrite Host)', async () => {
    const answer = await postRaw(a.url + RUN, { ...signedFor(a.url, body), host: 'internal.proxy:1234' }, body)
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'STATUS_OK' })
  })

  it('under a path prefix, refuses a request signed for another prefix or for none', async () => {
    const before = calls.count
    for (const signedUrl of [`${prefixed.origin}/b`, prefixed.origin]) {
      const answer = await postRaw(prefixed.url + RUN, signedFor(signedUrl, body), body)
      expect(answer.status).toBe(403)
      expect(JSON.parse(answer.body).message).toContain(`${new URL(prefixed.origin).host}/a${RUN}`)
    }
    expect(calls.count).toBe(before)
    expect((await postRaw(prefixed.url + RUN, signedFor(prefixed.url, body), body)).status).toBe(200)
    expect(calls.count).toBe(before + 1)
  })

  it('an endpointUrl function that gives no usable URL answers 500 with DSP2207 and no detail, running nothing', async () => {
    const app = Fastify()
    await app.register(dispatchPlugin, {
      routes,
      verificationKey: vectors.key.public_pem,
      endpointUrl: () => 'not a url',
    })
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const before = calls.count
      const answer = await postRaw(origin + RUN, signedFor(origin, body), body)
      expect(answer.status).toBe(500)
      // The code tells the operator where to look; the details (the URL) stay in the endpoint's log.
      expect(JSON.parse(answer.body).message).toMatch(/^DSP2207: the endpoint failed to handle the request/)
      expect(answer.body).not.toContain('not a url')
      expect(calls.count).toBe(before)
    } finally {
      await app.close()
    }
    // A function that throws (here: the server's origin asked before it listens) fails the same way.
    const early = Fastify()
    await early.register(dispatchPlugin, {
      routes,
      verificationKey: vectors.key.public_pem,
      endpointUrl: () => early.listeningOrigin,
    })
    try {
      const before = calls.count
      const answer = await early.inject({
        method: 'POST',
        url: RUN,
        headers: signedFor('http://localhost', body),
        payload: body,
      })
      expect(answer.statusCode).toBe(500)
      expect(answer.json().message).toMatch(/^DSP2207: /)
      expect(answer.json().message).not.toContain('threw')
      expect(calls.count).toBe(before)
    } finally {
      await early.close()
    }
  })
})

describe('fails closed at start-up', () => {
  it('refuses to register without a verification key, saying how to fix it (DSP2208)', async () => {
    const error = await withEnv(
      { DISPATCH_VERIFICATION_KEY: undefined, DISPATCH_ENDPOINT_URL: 'http://127.0.0.1:8000' },
      () => registrationError({ routes }),
    )
    expect(error.code).toBe('DSP2208')
    expect(error.hint).toContain('DISPATCH_VERIFICATION_KEY')
    expect(error.hint).toContain('verificationKey: false')
  })

  it('refuses an empty DISPATCH_VERIFICATION_KEY or an empty option (DSP2208)', async () => {
    const error = await withEnv({ DISPATCH_VERIFICATION_KEY: '', DISPATCH_ENDPOINT_URL: 'http://127.0.0.1:8000' }, () =>
      registrationError({ routes }),
    )
    expect(error.code).toBe('DSP2208')
    expect(error.message).toContain('empty')
    expect((await registrationError({ routes, verificationKey: '  ' })).code).toBe('DSP2208')
  })

  it('refuses to verify without knowing its own URL (DSP2206), or with one that is not http(s) (DSP2207)', async () => {
    await withEnv({ DISPATCH_ENDPOINT_URL: undefined }, async () => {
      const error = await registrationError({ routes, verificationKey: vectors.key.public_pem })
      expect(error.code).toBe('DSP2206')
      expect(error.hint).toContain('DISPATCH_ENDPOINT_URL')
      expect(error.hint).toContain('endpointUrl')
    })
    await withEnv({ DISPATCH_ENDPOINT_URL: 'ftp://app.test' }, async () => {
      const error = await registrationError({ routes, verificationKey: vectors.key.public_pem })
      expect(error.code).toBe('DSP2207')
      expect(error.message).toContain('DISPATCH_ENDPOINT_URL')
    })
    for (const endpointUrl of ['app.test:8000', 'http://user:secret@app.test']) {
      const error = await registrationError({ routes, verificationKey: vectors.key.public_pem, endpointUrl })
      expect(error.code).toBe('DSP2207')
      expect(error.message).not.toContain('secret')
    }
  })

  it('reads its URL from DISPATCH_ENDPOINT_URL, as `dispatch run` sets it', async () => {
    const app = Fastify()
    await withEnv(
      { DISPATCH_VERIFICATION_KEY: vectors.key.public_pem, DISPATCH_ENDPOINT_URL: 'http://app.example:8000/fn' },
      async () => {
        await app.register(dispatchPlugin, { routes, prefix: '/fn' })
      },
    )
    try {
      const inject = (signedUrl: string) =>
        app.inject({ method: 'POST', url: `/fn${RUN}`, headers: signedFor(signedUrl, body), payload: body })
      expect((await inject('http://app.example:8000/fn')).statusCode).toBe(200)
      expect((await inject('http://app.example:8000')).statusCode).toBe(403)
      expect((await inject('http://elsewhere.test/fn')).statusCode).toBe(403)
    } finally {
      await app.close()
    }
  })

  it('with verification explicitly off, runs unsigned requests and warns on stderr once per process, logger or not', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/runtime/fixtures/verificationOff.ts'], {
      cwd: repoRoot,
      env: { ...process.env, DISPATCH_VERIFICATION_KEY: vectors.key.public_pem },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toEqual({ status: 200 })
    expect(stderr.match(/DSP2240/g)).toHaveLength(1)
    expect(stderr).toContain('verificationKey: false')
  })
})

describe('replays within the signature window', () => {
  let endpoint: { app: FastifyInstance; url: string }
  afterEach(async () => {
    await endpoint?.app.close()
  })

  it('runs the same signed bytes once: a replay is refused 401 with DSP2242, and its connection closed', async () => {
    endpoint = await startSignedEndpoint({ routes })
    const headers = signedFor(endpoint.url, body)
    const before = calls.count
    expect((await postRaw(endpoint.url + RUN, headers, body)).status).toBe(200)
    const replay = await postRaw(endpoint.url + RUN, headers, body)
    expect(replay.status).toBe(401)
    expect(JSON.parse(replay.body)).toMatchObject({ code: 'unauthenticated' })
    expect(JSON.parse(replay.body).message).toContain('DSP2242')
    expect(replay.headers['connection']).toBe('close')
    // The same signature under a reformatted header is the same signature.
    const reformatted = { ...headers, signature: `${headers['signature']} ` }
    expect((await postRaw(endpoint.url + RUN, reformatted, body)).status).toBe(401)
    expect(calls.count).toBe(before + 1)
    // A new signature of the same bytes (what a retry is) runs.
    expect((await postRaw(endpoint.url + RUN, signedFor(endpoint.url, body), body)).status).toBe(200)
    expect(calls.count).toBe(before + 2)
  })

  it('of the same signed request sent twice at once, with the signature checked off the event loop, one runs', async () => {
    endpoint = await startSignedEndpoint({ routes, verifyOffThread: true })
    const headers = signedFor(endpoint.url, body)
    const before = calls.count
    const answers = await Promise.all([1, 2, 3].map(() => postRaw(endpoint.url + RUN, headers, body)))
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401])
    expect(calls.count).toBe(before + 1)
  })

  it('a refused request is not remembered: the same bytes sent where they were signed for still run once', async () => {
    endpoint = await startSignedEndpoint({ routes })
    const headers = signedFor(endpoint.url, body)
    const corrupted = { ...headers, 'content-type': 'application/json; charset=utf-8' }
    expect((await postRaw(endpoint.url + RUN, corrupted, body)).status).toBe(403)
    expect((await postRaw(endpoint.url + RUN, headers, body)).status).toBe(200)
  })

  it('replayCache: false turns the check off; a bad size fails start-up with DSP2209', async () => {
    endpoint = await startSignedEndpoint({ routes, replayCache: false })
    const headers = signedFor(endpoint.url, body)
    expect((await postRaw(endpoint.url + RUN, headers, body)).status).toBe(200)
    expect((await postRaw(endpoint.url + RUN, headers, body)).status).toBe(200)
    for (const replayCache of [0, -1, 1.5, Number.NaN]) {
      const error = await registrationError({
        routes,
        verificationKey: vectors.key.public_pem,
        endpointUrl: 'http://app.test',
        replayCache,
      })
      expect(error.code).toBe('DSP2209')
    }
  })

  it('the cache is bounded: a window after a signature was recorded it is dropped, and past the bound the older half goes', () => {
    const cache = new ReplayCache(4)
    const now = 1_000_000
    expect(cache.admit('a', now)).toBe(true)
    expect(cache.admit('a', now)).toBe(false)
    expect(cache.admit('b', now)).toBe(true)
    // Half the bound reached: a new generation begins; the older one is still checked.
    expect(cache.admit('c', now)).toBe(true)
    expect(cache.admit('a', now)).toBe(false)
    expect(cache.admit('d', now)).toBe(true)
    expect(cache.size).toBe(4)
    // Past the bound again: the oldest generation (a, b) is forgotten, the newer (c, d) still refused.
    expect(cache.admit('e', now)).toBe(true)
    expect(cache.size).toBeLessThanOrEqual(4)
    expect(cache.admit('c', now)).toBe(false)
    // Once their signatures are too old to verify (a window and then some), entries are dropped.
    const later = now + 2 * (MAX_AGE_S + 10)
    expect(cache.admit('f', later)).toBe(true)
    expect(cache.size).toBe(1)
    expect(cache.admit('e', later)).toBe(true)
  })
})

describe('slow clients', () => {
  let endpoint: { app: FastifyInstance; origin: string; url: string }
  afterEach(async () => {
    await endpoint?.app.close()
  })

  it('answers an unsigned request 401 before its body arrives, and closes the connection', async () => {
    endpoint = await startSignedEndpoint({ routes })
    const client = rawSocket(
      endpoint.origin,
      `POST ${RUN} HTTP/1.1\r\nhost: ${new URL(endpoint.origin).host}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`,
    )
    try {
      await until(() => client.closed())
      expect(client.received()).toMatch(/^HTTP\/1\.1 401 /)
      expect(client.received().toLowerCase()).toContain('connection: close')
    } finally {
      client.socket.destroy()
    }
  })

  it('cuts a signed-looking request whose body never comes at the request deadline (408)', async () => {
    endpoint = await startSignedEndpoint(
      { routes, serverTimeouts: { headersTimeoutMs: 100, requestTimeoutMs: 200 } },
      // Node checks its deadlines every connectionsCheckingInterval (30 s by default).
      { serverFactory: (handler) => createServer({ connectionsCheckingInterval: 20 }, handler) },
    )
    const headers = signedFor(endpoint.url, body)
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
    const client = rawSocket(
      endpoint.origin,
      `POST ${RUN} HTTP/1.1\r\nhost: ${new URL(endpoint.origin).host}\r\n${lines.join('')}content-length: ${body.length}\r\n\r\n{`,
    )
    try {
      await until(() => client.closed())
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /)
    } finally {
      client.socket.destroy()
    }
  })

  it("gives a server left with Fastify's defaults request and header deadlines, and keeps the owner's own", async () => {
    const make = async (
      server: { requestTimeout?: number },
      serverTimeouts?: false | { requestTimeoutMs?: number; headersTimeoutMs?: number },
    ) => {
      const app = Fastify(server)
      await app.register(dispatchPlugin, {
        routes,
        verificationKey: false,
        ...(serverTimeouts === undefined ? {} : { serverTimeouts }),
      })
      const { requestTimeout, headersTimeout } = app.server
      await app.close()
      return { requestTimeout, headersTimeout }
    }
    expect(await make({})).toEqual({ requestTimeout: 60_000, headersTimeout: 15_000 })
    expect((await make({ requestTimeout: 5000 })).requestTimeout).toBe(5000)
    expect((await make({}, false)).requestTimeout).toBe(0)
    expect(await make({}, { requestTimeoutMs: 9000, headersTimeoutMs: 3000 })).toEqual({
      requestTimeout: 9000,
      headersTimeout: 3000,
    })
    const error = await registrationError({ routes, verificationKey: false, serverTimeouts: { requestTimeoutMs: -1 } })
    expect(error.code).toBe('DSP2209')
  })
})
