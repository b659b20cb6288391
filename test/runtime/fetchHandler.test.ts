import { afterEach, describe, expect, it, vi } from 'vitest'
import { RUN, runRequest } from './helpers/endpointApp.js'
import { signedFor } from './helpers/realEndpoint.js'
import { vectors } from './helpers/vectors.js'

// The fetch handler called directly with Node's own Request, as a Worker or Deno calls it: keys in
// every form it takes, and a runtime without Buffer and without Node's built-in modules.

const URL_ = 'http://app.test:8000'
const body = JSON.stringify(runRequest('add', [2, 3]))

function request(headers = signedFor(URL_, body), payload = body): Request {
  return new Request(URL_ + RUN, {
    method: 'POST',
    headers: { ...headers, 'content-length': String(new TextEncoder().encode(payload).length) },
    body: payload,
  })
}

async function load() {
  const { createFetchHandler } = await import('dispatch-functions/fetch')
  const { defineRoutes, tupleSchema, currentCall } = await import('dispatch-functions')
  const { Type } = await import('typebox')
  const routes = defineRoutes({
    add: {
      input: tupleSchema([Type.Number(), Type.Number()]),
      output: Type.Number(),
      handler: async (a: number, b: number) => {
        await Promise.resolve()
        if (currentCall().function !== 'add') throw new Error('no call context')
        return a + b
      },
      source: 'test/add.ts:1',
    },
  })
  return { createFetchHandler, routes }
}

afterEach(() => {
  vi.unstubAllGlobals()
  vi.resetModules()
})

describe('createFetchHandler', () => {
  it('takes the key as PEM, as base64 of the raw bytes, as a CryptoKey and as a KeyObject', async () => {
    const { createFetchHandler, routes } = await load()
    const { createPublicKey } = await import('node:crypto')
    const keyObject = createPublicKey(vectors.key.public_pem)
    const raw = keyObject.export({ format: 'der', type: 'spki' }).subarray(12)
    const cryptoKey = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
    for (const verificationKey of [vectors.key.public_pem, raw.toString('base64'), cryptoKey, keyObject]) {
      const dispatch = createFetchHandler({ routes, verificationKey, endpointUrl: URL_ })
      const response = await dispatch(request())
      expect(response.status).toBe(200)
      expect(((await response.json()) as any).exit.result.output.value).toBe(5)
    }
  })

  it('verifies, runs and answers when loaded on a runtime without Buffer and without node: built-ins', async () => {
    // The handler's modules are loaded without Buffer, process.env or process.getBuiltinModule, so
    // they take their portable paths (Web Crypto, TextEncoder, atob, the plain hashes). Node's own
    // Request and Response need Buffer, so it is back once they are loaded.
    const nodeProcess = globalThis.process
    vi.stubGlobal('Buffer', undefined)
    vi.stubGlobal('process', { ...nodeProcess, getBuiltinModule: undefined, env: {} })
    let loaded: Awaited<ReturnType<typeof load>>
    try {
      loaded = await load()
    } finally {
      vi.unstubAllGlobals()
    }
    const dispatch = loaded.createFetchHandler({
      routes: loaded.routes,
      verificationKey: vectors.key.public_pem,
      endpointUrl: URL_,
    })
    const ok = await dispatch(request())
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({
      status: 'STATUS_OK',
      exit: { result: { output: { '@type': 'type.googleapis.com/google.protobuf.Value', value: 5 } } },
    })
    const tampered = await dispatch(request(signedFor(URL_, body), JSON.stringify(runRequest('add', [2, 4]))))
    expect(tampered.status).toBe(403)
    const unsigned = await dispatch(request({ 'content-type': 'application/json' }))
    expect(unsigned.status).toBe(401)
    expect(unsigned.headers.get('connection')).toBe('close')
  })

  it('on a runtime whose Web Crypto has no Ed25519, answers 500 and says why on stderr, running nothing', async () => {
    const { createFetchHandler, routes } = await load()
    vi.spyOn(globalThis.crypto.subtle, 'importKey').mockRejectedValue(new Error('Ed25519 is not supported'))
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      const dispatch = createFetchHandler({ routes, verificationKey: vectors.key.public_pem, endpointUrl: URL_ })
      const answer = await dispatch(request())
      expect(answer.status).toBe(500)
      expect(((await answer.json()) as { message: string }).message).toMatch(
        /the endpoint failed to handle the request/,
      )
      expect(stderr.mock.calls.map(([text]) => String(text)).join('')).toContain('Ed25519 is not supported')
    } finally {
      vi.restoreAllMocks()
    }
  })

  it('hashes as Node does where it must do without Node (coroutine versions and call fingerprints)', async () => {
    const { createHash } = await import('node:crypto')
    const { sha1, sha256 } = await import('../../runtime/portable/hashText.js')
    for (const length of [0, 1, 55, 56, 63, 64, 65, 1000, 70_000]) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 31 + 7) & 255)
      expect(Buffer.from(sha1(bytes)).toString('hex')).toBe(createHash('sha1').update(bytes).digest('hex'))
      expect(Buffer.from(sha256(bytes)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'))
    }
  })
})
