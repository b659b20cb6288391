import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signRequest } from '../../runtime/signing/index.js'
import { HOST, makeApp, RUN, runRequest, send, testPrivateKey } from './helpers/endpointApp.js'
import { digestOf, signCustom } from './helpers/signCustom.js'
import { calls, routes } from './helpers/testRoutes.js'
import { vectors } from './helpers/vectors.js'

const now = () => Math.floor(Date.now() / 1000)
const message = runRequest('add', [1, 2])
const body = JSON.stringify(message)

describe('signed requests', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    ;({ app } = await makeApp({ routes, verificationKey: vectors.key.public_pem }))
  })
  afterAll(() => app.close())

  it('runs a correctly signed request', async () => {
    const response = await send(app, message)
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      status: 'STATUS_OK',
      exit: { result: { output: { '@type': 'type.googleapis.com/google.protobuf.Value', value: 3 } } },
    })
  })

  const headers = { 'content-type': 'application/json', 'content-digest': digestOf('sha512', body) }
  const custom = (params: string, extra: Partial<Parameters<typeof signCustom>[0]> = {}) => ({
    ...headers,
    ...signCustom({ path: RUN, authority: HOST, headers, privateKey: testPrivateKey, params, ...extra }),
  })
  const P = () => `;created=${now()};keyid="default";alg="ed25519"`
  const inject = (over: {
    body?: string
    path?: string
    host?: string
    method?: string
    headers?: Record<string, string | undefined>
  }) => {
    const h: Record<string, string> = { host: over.host ?? HOST }
    for (const [k, v] of Object.entries(over.headers ?? {})) if (v !== undefined) h[k] = v
    return app.inject({
      method: (over.method ?? 'POST') as 'POST',
      url: over.path ?? RUN,
      headers: h,
      payload: over.body ?? body,
    })
  }
  const good = () => ({
    ...headers,
    ...signRequest({ method: 'POST', url: `http://${HOST}${RUN}`, headers, body, privateKey: testPrivateKey }),
  })

  it.each<[string, () => Parameters<typeof inject>[0], 401 | 403]>([
    ['body changed', () => ({ headers: good(), body: body.replace('[1,2]', '[1,3]') }), 403],
    ['path changed', () => ({ headers: custom(P(), { path: `/v2${RUN}` }) }), 403],
    ['signed for another authority', () => ({ headers: custom(P(), { authority: 'evil.test:8000' }) }), 403],
    [
      'signed for another authority and sent with that Host',
      () => ({ headers: custom(P(), { authority: 'evil.test:8000' }), host: 'evil.test:8000' }),
      403,
    ],
    [
      'content type changed',
      () => ({ headers: { ...good(), 'content-type': 'application/json; charset=utf-8' } }),
      403,
    ],
    ['digest missing', () => ({ headers: { ...good(), 'content-digest': undefined } }), 403],
    [
      'digest wrong',
      () => ({ headers: custom(P(), { headers: { ...headers, 'content-digest': digestOf('sha512', '{}') } }) }),
      403,
    ],
    [
      'digest of another algorithm',
      () => ({ headers: custom(P(), { headers: { ...headers, 'content-digest': digestOf('sha384', body) } }) }),
      403,
    ],
    ['created too old', () => ({ headers: custom(`;created=${now() - 400};keyid="default"`) }), 403],
    ['created in the future', () => ({ headers: custom(`;created=${now() + 60};keyid="default"`) }), 403],
    ['no created', () => ({ headers: custom(';keyid="default";alg="ed25519"') }), 403],
    ['keyid other than default', () => ({ headers: custom(`;created=${now()};keyid="scheduler-2"`) }), 401],
    ['alg other than ed25519', () => ({ headers: custom(`;created=${now()};keyid="default";alg="hmac-sha256"`) }), 403],
    [
      'two signatures',
      () => {
        const a = custom(P())
        const b = signCustom({
          path: RUN,
          authority: HOST,
          headers,
          privateKey: testPrivateKey,
          params: P(),
          label: 'second',
        })
        return {
          headers: {
            ...a,
            'signature-input': `${a['signature-input']}, ${b['signature-input']}`,
            signature: `${a.signature}, ${b.signature}`,
          },
        }
      },
      403,
    ],
    [
      'a component missing from coverage',
      () => ({ headers: custom(P(), { components: ['@method', '@path', '@authority', 'content-digest'] }) }),
      401,
    ],
    ['no signature at all', () => ({ headers }), 401],
  ])('refuses %s with a JSON error, running nothing', async (_, make, status) => {
    const before = calls.count
    const response = await inject(make())
    expect(response.statusCode).toBe(status)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const error = response.json()
    expect(error.code).toBe(status === 401 ? 'unauthenticated' : 'permission_denied')
    expect(typeof error.message).toBe('string')
    expect(JSON.stringify(error)).not.toMatch(/at .*\.ts:\d+/)
    expect(calls.count).toBe(before)
  })

  it('signs and serves under a register prefix', async () => {
    const { app: prefixed } = await makeApp({ routes, verificationKey: vectors.key.public_pem, prefix: '/fn' })
    expect((await send(prefixed, message, { path: `/fn${RUN}` })).statusCode).toBe(200)
    expect((await send(prefixed, message)).statusCode).toBe(404)
    await prefixed.close()
  })

  it('refuses a method other than POST (the path is only mounted for POST)', async () => {
    const response = await inject({ method: 'PUT', headers: good() })
    expect(response.statusCode).toBe(404)
  })

  it('refuses the RFC 9421 B.2.6 example', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/foo?param=Value&Pet=dog',
      headers: {
        host: 'example.com',
        date: 'Tue, 20 Apr 2021 02:07:55 GMT',
        'content-type': 'application/json',
        'content-digest': vectors.content_digest['sha-512'],
        'signature-input':
          'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
        signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
      },
      payload: vectors.content_digest.body,
    })
    // Sent to the endpoint's own path, the same headers are refused too.
    expect(response.statusCode).toBe(404)
    const atRun = await app.inject({
      method: 'POST',
      url: RUN,
      headers: {
        host: 'example.com',
        'content-type': 'application/json',
        'content-digest': vectors.content_digest['sha-512'],
        'signature-input':
          'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
        signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
      },
      payload: vectors.content_digest.body,
    })
    expect(atRun.statusCode).toBe(401)
    expect(atRun.json().code).toBe('unauthenticated')
  })

  it('checks the signature before the content type and the JSON', async () => {
    const response = await send(app, '{not json', { sign: false, headers: { 'content-type': 'text/plain' } })
    expect(response.statusCode).toBe(401)
  })
})

describe('verifyOffThread', () => {
  it('accepts a signed request and refuses a tampered one with the check on the thread pool', async () => {
    const { app } = await makeApp({ routes, verificationKey: vectors.key.public_pem, verifyOffThread: true })
    expect((await send(app, message)).statusCode).toBe(200)
    const tampered = await send(app, message, {
      headers: { signature: `dispatch=:${Buffer.alloc(64, 1).toString('base64')}:` },
    })
    expect(tampered.statusCode).toBe(403)
    expect(tampered.json().message).toMatch(/does not verify/)
    await app.close()
  })
})

describe('verification keys', () => {
  const forms = {
    PEM: vectors.key.public_pem,
    'PEM with literal \\n': vectors.key.public_pem.replace(/\n/g, '\\n'),
    'base64 of the raw key': vectors.key.public_raw_base64,
  }
  it.each(Object.entries(forms))('accepts %s from DISPATCH_VERIFICATION_KEY', async (_, key) => {
    const saved = process.env['DISPATCH_VERIFICATION_KEY']
    process.env['DISPATCH_VERIFICATION_KEY'] = key
    try {
      const { app } = await makeApp({ routes })
      expect((await send(app, message)).statusCode).toBe(200)
      expect((await send(app, message, { sign: false })).statusCode).toBe(401)
      await app.close()
    } finally {
      if (saved === undefined) delete process.env['DISPATCH_VERIFICATION_KEY']
      else process.env['DISPATCH_VERIFICATION_KEY'] = saved
    }
  })

  it('fails start-up on a bad key, naming the variable and not the value', async () => {
    const saved = process.env['DISPATCH_VERIFICATION_KEY']
    process.env['DISPATCH_VERIFICATION_KEY'] = 'bm90LWEta2V5LXNlY3JldA=='
    try {
      const app = Fastify()
      const error = await app.register(dispatchPlugin, { routes }).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(error?.message).toContain('DISPATCH_VERIFICATION_KEY')
      expect(`${error?.message}${(error as { hint?: string }).hint}`).not.toContain('bm90LWEta2V5LXNlY3JldA')
      await app.close()
    } finally {
      if (saved === undefined) delete process.env['DISPATCH_VERIFICATION_KEY']
      else process.env['DISPATCH_VERIFICATION_KEY'] = saved
    }
  })

  it('verificationKey: false overrides the variable and accepts unsigned requests, with one warning', async () => {
    const saved = process.env['DISPATCH_VERIFICATION_KEY']
    process.env['DISPATCH_VERIFICATION_KEY'] = vectors.key.public_raw_base64
    try {
      const { app, logs } = await makeApp({ routes, verificationKey: false })
      expect((await send(app, message, { sign: false })).statusCode).toBe(200)
      expect((await send(app, message, { sign: false })).statusCode).toBe(200)
      const warnings = logs.filter((l) => String(l['msg']).includes('verification is off'))
      expect(warnings).toHaveLength(1)
      await app.close()
    } finally {
      if (saved === undefined) delete process.env['DISPATCH_VERIFICATION_KEY']
      else process.env['DISPATCH_VERIFICATION_KEY'] = saved
    }
  })
})
