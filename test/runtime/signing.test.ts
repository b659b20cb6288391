import { verify } from 'node:crypto'
import { DispatchError } from 'dispatch-functions'
import { describe, expect, it } from 'vitest'
import {
  contentDigest,
  contentDigestMismatch,
  generateSigningKeyPair,
  parsePrivateKey,
  parsePublicKey,
  signRequest,
  signRequestAsync,
  verifyRequest,
  verifyRequestAsync,
} from '../../runtime/signing/index.js'
import { digestOf, signCustom } from './helpers/signCustom.js'
import { vectors } from './helpers/vectors.js'

const seedBase64 = Buffer.from(vectors.key.private_seed_hex, 'hex').toString('base64')
const publicKey = parsePublicKey(vectors.key.public_raw_base64, 'DISPATCH_VERIFICATION_KEY')
const privateKey = parsePrivateKey(seedBase64, 'DISPATCH_SIGNING_KEY')
const v = vectors.dispatch_style_request

describe('keys', () => {
  it('parses the three public key forms to the same key', () => {
    const forms = [vectors.key.public_pem, vectors.key.public_pem.replace(/\n/g, '\\n'), vectors.key.public_raw_base64]
    const raw = forms.map((f) => parsePublicKey(f, 'K').export({ format: 'der', type: 'spki' }).toString('hex'))
    expect(new Set(raw).size).toBe(1)
  })

  it('parses the three private key forms (and the 64-byte form) to the same key', () => {
    const seed = Buffer.from(vectors.key.private_seed_hex, 'hex')
    const pub = Buffer.from(vectors.key.public_raw_base64, 'base64')
    const forms = [
      vectors.key.private_pem,
      vectors.key.private_pem.replace(/\n/g, '\\n'),
      seedBase64,
      Buffer.concat([seed, pub]).toString('base64'),
    ]
    const der = forms.map((f) => parsePrivateKey(f, 'K').export({ format: 'der', type: 'pkcs8' }).toString('hex'))
    expect(new Set(der).size).toBe(1)
  })

  it.each([
    ['not a key', 'hello world!'],
    ['wrong length', Buffer.alloc(31, 7).toString('base64')],
    ['broken PEM', '-----BEGIN PUBLIC KEY-----\nAAAAsecretAAAA\n-----END PUBLIC KEY-----'],
    ['a private key PEM', vectors.key.private_pem],
    ['empty', '  '],
  ])('refuses %s naming the variable, never the value', (_, text) => {
    let error: unknown
    try {
      parsePublicKey(text, 'DISPATCH_VERIFICATION_KEY')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DispatchError)
    const e = error as DispatchError
    expect(e.code).toBe('DSP2201')
    expect(e.message).toContain('DISPATCH_VERIFICATION_KEY')
    if (text.trim() !== '') expect(`${e.message} ${e.hint} ${e.stack}`).not.toContain(text.trim().slice(0, 20))
  })

  it('refuses a bad private key with DSP2202', () => {
    expect(() => parsePrivateKey('c2VjcmV0', 'DISPATCH_SIGNING_KEY')).toThrow(/DISPATCH_SIGNING_KEY/)
    expect(() => parsePrivateKey(vectors.key.public_pem, 'DISPATCH_SIGNING_KEY')).toThrowError(DispatchError)
  })

  it('generates a key pair that signs and verifies', () => {
    const pair = generateSigningKeyPair()
    const body = '{"function":"f"}'
    const url = 'http://127.0.0.1:8000/dispatch.sdk.v1.FunctionService/Run'
    const headers = signRequest({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body,
      privateKey: parsePrivateKey(pair.privateKeyPem, 'S'),
    })
    const result = verifyRequest({
      method: 'POST',
      path: '/dispatch.sdk.v1.FunctionService/Run',
      authority: '127.0.0.1:8000',
      headers: { ...headers, 'content-type': 'application/json' },
      body: Buffer.from(body),
      publicKey: parsePublicKey(pair.publicKeyPem, 'V'),
    })
    expect(result).toEqual({ ok: true })
  })
})

describe('content digest', () => {
  it('matches the RFC 9530 vector', () => {
    const body = Buffer.from(vectors.content_digest.body)
    expect(contentDigest(body)).toBe(vectors.content_digest['sha-512'])
    expect(contentDigestMismatch(vectors.content_digest['sha-512'], body)).toBeUndefined()
    expect(contentDigestMismatch(vectors.content_digest['sha-256'], body)).toBeUndefined()
    expect(contentDigestMismatch(vectors.content_digest['sha-256'], Buffer.from('{"hello": "world!"}'))).toMatch(
      /does not match/,
    )
    expect(contentDigestMismatch(digestOf('sha384', body), body)).toMatch(/neither/)
  })
})

describe('the Dispatch-style vector', () => {
  const body = Buffer.from(v.body_hex, 'hex')
  const h = v.headers

  it('its signature base verifies with the test key', () => {
    expect(
      verify(null, Buffer.from(v.signature_base), publicKey, Buffer.from(h.Signature!.slice(10, -1), 'base64')),
    ).toBe(true)
  })

  it('signRequest reproduces its headers byte for byte (without its nonce)', () => {
    const signed = signRequest({
      method: v.method,
      url: v.url,
      headers: { 'content-type': h['Content-Type']! },
      body,
      privateKey,
      created: v.created,
      nonce: false,
    })
    expect(signed).toEqual({
      'content-digest': h['Content-Digest'],
      'signature-input': h['Signature-Input'],
      signature: h.Signature,
    })
  })

  it('signRequestAsync signs on the thread pool to the same headers, byte for byte', async () => {
    const input = {
      method: v.method,
      url: v.url,
      headers: { 'content-type': h['Content-Type']! },
      body,
      privateKey,
      created: v.created,
      nonce: false as const,
    }
    expect(await signRequestAsync(input)).toEqual(signRequest(input))
    expect(await signRequestAsync(input)).toEqual({
      'content-digest': h['Content-Digest'],
      'signature-input': h['Signature-Input'],
      signature: h.Signature,
    })
  })

  it('signRequest gives the same bytes signed in the same second a different signature each time (a nonce), and each verifies', () => {
    const sign = () =>
      signRequest({
        method: v.method,
        url: v.url,
        headers: { 'content-type': h['Content-Type']! },
        body,
        privateKey,
        created: v.created,
      })
    const first = sign()
    const second = sign()
    expect(first['signature-input']).toMatch(
      /^dispatch=\("@method" "@path" "@authority" "content-type" "content-digest"\);created=1700000000;keyid="default";alg="ed25519";nonce="[A-Za-z0-9_-]+"$/,
    )
    expect(second['signature-input']).not.toBe(first['signature-input'])
    expect(second.signature).not.toBe(first.signature)
    for (const signed of [first, second]) {
      const result = verifyRequest({
        method: 'POST',
        path: '/dispatch.sdk.v1.FunctionService/Run',
        authority: 'example.com',
        headers: { 'content-type': h['Content-Type'], ...signed },
        body,
        publicKey: parsePublicKey(vectors.key.public_pem, 'TEST'),
        now: v.created,
      })
      expect(result).toEqual({ ok: true })
    }
  })

  it('verifyRequest accepts it within the window, sync and async', async () => {
    const input = {
      method: 'POST',
      path: '/dispatch.sdk.v1.FunctionService/Run',
      authority: 'example.com',
      headers: {
        'content-type': h['Content-Type'],
        'content-digest': h['Content-Digest'],
        'signature-input': h['Signature-Input'],
        signature: h.Signature,
      },
      body,
      publicKey,
      now: v.created + 60,
    }
    expect(verifyRequest(input)).toEqual({ ok: true })
    expect(await verifyRequestAsync(input)).toEqual({ ok: true })
    expect(verifyRequest({ ...input, now: v.created - 5 }).ok).toBe(true)
    expect(verifyRequest({ ...input, now: v.created + 305 }).ok).toBe(true)
    expect(verifyRequest({ ...input, now: v.created - 6 }).ok).toBe(false)
    expect(verifyRequest({ ...input, now: v.created + 306 }).ok).toBe(false)
    expect((await verifyRequestAsync({ ...input, body: Buffer.from('x') })).ok).toBe(false)
  })
})

describe('verifyRequest refusals', () => {
  const body = '{"function":"f","input":{"@type":"type.googleapis.com/google.protobuf.Value","value":[]}}'
  const now = 1_800_000_000
  const path = '/dispatch.sdk.v1.FunctionService/Run'
  const authority = 'app.example:8000'
  const baseHeaders = { 'content-type': 'application/json', 'content-digest': digestOf('sha512', body) }
  const good = {
    ...baseHeaders,
    ...signCustom({
      path,
      authority,
      headers: baseHeaders,
      privateKey,
      params: `;created=${now};keyid="default";alg="ed25519"`,
    }),
  }
  const check = (over: Partial<Parameters<typeof verifyRequest>[0]>) =>
    verifyRequest({ method: 'POST', path, authority, headers: good, body: Buffer.from(body), publicKey, now, ...over })

  it('accepts a nonce parameter wherever it stands and whatever its text, and refuses a changed one', () => {
    const withParams = (params: string) => ({
      ...baseHeaders,
      ...signCustom({ path, authority, headers: baseHeaders, privateKey, params }),
    })
    for (const params of [
      `;created=${now};keyid="default";alg="ed25519";nonce="abc-_9"`,
      `;nonce="first";created=${now};keyid="default"`,
      `;created=${now};keyid="default";nonce="with space and \\"quote\\""`,
      `;created=${now};keyid="default";nonce="a";nonce="b"`,
    ]) {
      // Twice: the second lookup comes from the cache of checked Signature-Input headers.
      expect(check({ headers: withParams(params) }), params).toEqual({ ok: true })
      expect(check({ headers: withParams(params) }), params).toEqual({ ok: true })
    }
    const signed = withParams(`;created=${now};keyid="default";alg="ed25519";nonce="abc"`)
    const changed = { ...signed, 'signature-input': signed['signature-input'].replace('nonce="abc"', 'nonce="abd"') }
    expect(check({ headers: changed })).toMatchObject({ ok: false, httpStatus: 403 })
  })

  it('accepts the good request, components in any listed order, sha-256 digests and no alg', () => {
    expect(check({})).toEqual({ ok: true })
    const headers256 = { ...baseHeaders, 'content-digest': digestOf('sha256', body) }
    const reordered = signCustom({
      path,
      authority,
      headers: headers256,
      privateKey,
      components: ['content-digest', '@authority', 'content-type', '@path', '@method'],
      params: `;keyid="default";created=${now}`,
    })
    expect(check({ headers: { ...headers256, ...reordered } })).toEqual({ ok: true })
  })

  const resign = (
    headers: Record<string, string>,
    params: string,
    extra: Partial<Parameters<typeof signCustom>[0]> = {},
  ) => ({
    ...headers,
    ...signCustom({ path, authority, headers, privateKey, params, ...extra }),
  })
  const P = `;created=${now};keyid="default";alg="ed25519"`

  it.each<[string, () => Partial<Parameters<typeof verifyRequest>[0]>, 401 | 403, RegExp]>([
    ['body changed', () => ({ body: Buffer.from(body.replace('"f"', '"g"')) }), 403, /does not match the body/],
    ['path changed', () => ({ path: '/other' }), 403, /does not verify/],
    ['authority changed', () => ({ authority: 'evil.example:8000' }), 403, /does not verify/],
    ['method changed', () => ({ method: 'PUT' }), 403, /does not verify/],
    ['content type changed', () => ({ headers: { ...good, 'content-type': 'text/plain' } }), 403, /does not verify/],
    ['digest missing', () => ({ headers: { ...good, 'content-digest': undefined } }), 403, /lacks/],
    [
      'digest wrong',
      () => ({ headers: resign({ ...baseHeaders, 'content-digest': digestOf('sha512', 'x') }, P) }),
      403,
      /does not match/,
    ],
    [
      'digest of another algorithm',
      () => ({ headers: resign({ ...baseHeaders, 'content-digest': digestOf('sha384', body) }, P) }),
      403,
      /neither/,
    ],
    [
      'created too old',
      () => ({ headers: resign(baseHeaders, `;created=${now - 306};keyid="default"`) }),
      403,
      /too old/,
    ],
    [
      'created in the future',
      () => ({ headers: resign(baseHeaders, `;created=${now + 6};keyid="default"`) }),
      403,
      /future/,
    ],
    ['no created', () => ({ headers: resign(baseHeaders, ';keyid="default";alg="ed25519"') }), 403, /no created/],
    [
      'keyid other than default',
      () => ({ headers: resign(baseHeaders, `;created=${now};keyid="other"`) }),
      401,
      /key id/,
    ],
    ['no keyid', () => ({ headers: resign(baseHeaders, `;created=${now}`) }), 401, /key id/],
    [
      'alg other than ed25519',
      () => ({ headers: resign(baseHeaders, `;created=${now};keyid="default";alg="rsa-pss-sha512"`) }),
      403,
      /ed25519/,
    ],
    [
      'two signatures',
      () => {
        const second = signCustom({ path, authority, headers: baseHeaders, privateKey, params: P, label: 'other' })
        return {
          headers: {
            ...good,
            'signature-input': `${good['signature-input']}, ${second['signature-input']}`,
            signature: `${good.signature}, ${second.signature}`,
          },
        }
      },
      403,
      /exactly one/,
    ],
    [
      'a component missing from coverage',
      () => ({ headers: resign(baseHeaders, P, { components: ['@method', '@path', '@authority', 'content-digest'] }) }),
      401,
      /does not cover "content-type"/,
    ],
    ['no signature at all', () => ({ headers: baseHeaders }), 401, /not signed/],
    [
      'a signature without its input',
      () => ({ headers: { ...good, 'signature-input': undefined } }),
      401,
      /not signed/,
    ],
    ['garbage signature input', () => ({ headers: { ...good, 'signature-input': 'dispatch=(((' } }), 403, /structured/],
    ['a truncated signature', () => ({ headers: { ...good, signature: 'dispatch=:AAAA:' } }), 403, /64 bytes/],
    [
      'an unsupported derived component',
      () => ({
        headers: resign(baseHeaders, P, {
          components: ['@method', '@path', '@authority', 'content-type', 'content-digest', '@query'],
        }),
      }),
      403,
      /not supported/,
    ],
    [
      'a signature by another key',
      () => ({ publicKey: parsePublicKey(generateSigningKeyPair().publicKeyPem, 'K') }),
      403,
      /does not verify/,
    ],
  ])('refuses %s', (_, over, status, message) => {
    const result = check(over())
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.httpStatus).toBe(status)
    expect(result.code).toBe(status === 401 ? 'unauthenticated' : 'permission_denied')
    expect(result.message).toMatch(message)
  })

  it('refuses the RFC 9421 B.2.6 example (it verifies, but its keyid is not "default")', () => {
    const b26Body = vectors.content_digest.body
    const headers = {
      date: 'Tue, 20 Apr 2021 02:07:55 GMT',
      'content-type': 'application/json',
      'content-digest': vectors.content_digest['sha-512'],
      'content-length': '18',
      'signature-input':
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
    }
    const base = [
      '"date": Tue, 20 Apr 2021 02:07:55 GMT',
      '"@method": POST',
      '"@path": /foo',
      '"@authority": example.com',
      '"content-type": application/json',
      '"content-length": 18',
      `"@signature-params": ${headers['signature-input'].slice('sig-b26='.length)}`,
    ].join('\n')
    expect(verify(null, Buffer.from(base), publicKey, Buffer.from(headers.signature.slice(9, -1), 'base64'))).toBe(true)
    const result = verifyRequest({
      method: 'POST',
      path: '/foo',
      authority: 'example.com',
      headers,
      body: Buffer.from(b26Body),
      publicKey,
      now: 1618884473,
    })
    expect(result).toMatchObject({ ok: false, httpStatus: 401, code: 'unauthenticated' })
  })
})
