import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair, parsePrivateKey } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'
// Nothing listens on port 9; calls dispatched here are delayed so delivery never happens during the test.
const endpoint = 'http://127.0.0.1:9'

let folder: string
let t: TestScheduler

beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'))
})
afterAll(async () => {
  await t?.scheduler.close()
  await removeFolder(folder)
})

const allCalls = async () => (await t.calls.list({ limit: 1000 })).calls

describe('API authentication', () => {
  it('refuses a missing or wrong key with a Connect 401 that does not echo the key', async () => {
    const missing = await t.post(DISPATCH, { calls: [{ endpoint, function: 'f' }] }, null)
    expect(missing.status).toBe(401)
    expect(missing.body).toMatchObject({ code: 'unauthenticated' })
    const wrong = await t.post(DISPATCH, { calls: [{ endpoint, function: 'f' }] }, 'not-the-key-123')
    expect(wrong.status).toBe(401)
    expect(JSON.stringify(wrong.body)).not.toContain('not-the-key-123')
    expect(JSON.stringify(wrong.body)).not.toContain(t.scheduler.apiKey)
    const service = await t.post('/dispatch.scheduler.v1.CallService/List', {}, 'test-api-keyX')
    expect(service.status).toBe(401)
    const basic = await fetch(`${t.scheduler.url}${DISPATCH}`, {
      method: 'POST',
      headers: { authorization: `Basic ${t.scheduler.apiKey}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(basic.status).toBe(401)
    expect(await allCalls()).toEqual([])
  })

  it('answers unknown methods with a Connect 404', async () => {
    const answer = await t.post('/dispatch.sdk.v1.DispatchService/Nope', {})
    expect(answer.status).toBe(404)
    expect(answer.body).toMatchObject({ code: 'not_found' })
    const get = await t.post('/dispatch.scheduler.v1.CallService/Get', { dispatchId: 'nope' })
    expect(get.status).toBe(404)
    expect(get.body.message).toContain('nope')
  })
})

describe('Dispatch validation and atomicity', () => {
  const good = { endpoint, function: 'publish', input: value(['x']), delay: '3600s' }

  it.each([
    ['a function name that breaks the pattern', { ...good, function: '1bad' }, /call 2: \/function/],
    ['a missing endpoint', { function: 'publish' }, /call 2: endpoint is required/],
    ['a non-http endpoint', { ...good, endpoint: 'ftp://example.test/' }, /call 2: \/endpoint/],
    ['an http-looking endpoint that is not a URL', { ...good, endpoint: 'http://exa mple' }, /call 2: endpoint/],
    ['a malformed delay', { ...good, delay: '5 minutes' }, /call 2: \/delay/],
    ['a negative delay', { ...good, delay: '-1s' }, /call 2: delay must not be negative/],
    ['a malformed notBefore', { ...good, notBefore: 'tomorrow' }, /call 2: \/notBefore/],
    ['maxAttempts 0', { ...good, maxAttempts: 0 }, /call 2: \/maxAttempts/],
    ['an empty fairness key', { ...good, fairnessKey: '' }, /call 2: \/fairnessKey/],
  ])('refuses a batch with %s (400 naming the call), storing nothing', async (name, bad, message) => {
    const tag = `atomic ${name}`
    const tagged = { ...good, fairnessKey: tag }
    const answer = await t.post(DISPATCH, { calls: [tagged, { ...tagged, idempotencyKey: tag }, bad] })
    expect(answer.status).toBe(400)
    expect(answer.body.code).toBe('invalid_argument')
    expect(answer.body.message).toMatch(message)
    expect((await t.calls.list({ fairnessKey: tag })).calls).toEqual([])
    // The idempotency key of the refused batch was not recorded either: it now makes a new call.
    const [id] = await t.dispatch([{ ...tagged, idempotencyKey: tag }])
    expect((await t.calls.list({ fairnessKey: tag })).calls.map((c) => c.dispatchId)).toEqual([id])
  })

  it('refuses bodies that are not DispatchRequests', async () => {
    for (const body of ['{not json', '{"calls": []}', '{"calls": "x"}', '[]']) {
      const answer = await t.post(DISPATCH, body)
      expect(answer.status).toBe(400)
      expect(answer.body.code).toBe('invalid_argument')
    }
  })

  it('stores a valid batch and returns one id per call, in order', async () => {
    const ids = await t.dispatch([good, { ...good, function: 'other', maxAttempts: 7, fairnessKey: 'acme' }])
    expect(ids).toHaveLength(2)
    expect(new Set(ids).size).toBe(2)
    const second = await t.calls.get(ids[1]!)
    expect(second).toMatchObject({ function: 'other', fairnessKey: 'acme', state: 'pending', attempts: 0 })
    const first = await t.calls.get(ids[0]!)
    expect(first).toMatchObject({ function: 'publish', input: value(['x']) })
  })
})

describe('keys', () => {
  it('generates the API key and signing key on first start, keeps them beside the db (0600) and reuses them', async () => {
    const dir = await tempFolder()
    try {
      const dbPath = join(dir, 'nested', 'd.db')
      const env = { key: process.env['DISPATCH_API_KEY'], signing: process.env['DISPATCH_SIGNING_KEY'] }
      delete process.env['DISPATCH_API_KEY']
      delete process.env['DISPATCH_SIGNING_KEY']
      try {
        const first = await startScheduler({ dbPath })
        const { apiKey, verificationKeyPem } = first
        await first.close()
        expect(apiKey.length).toBeGreaterThan(30)
        expect(verificationKeyPem).toContain('BEGIN PUBLIC KEY')
        for (const file of ['d.db.api-key', 'd.db.signing-key.pem']) {
          expect((await stat(join(dir, 'nested', file))).mode & 0o077).toBe(0)
        }
        expect((await readFile(join(dir, 'nested', 'd.db.api-key'), 'utf8')).trim()).toBe(apiKey)
        const second = await startScheduler({ dbPath })
        expect(second.apiKey).toBe(apiKey)
        expect(second.verificationKeyPem).toBe(verificationKeyPem)
        await second.close()
        // Explicit keys win over the kept ones.
        const pair = generateSigningKeyPair()
        const third = await startScheduler({ dbPath, apiKey: 'explicit', signingKey: pair.privateKeyPem })
        expect(third.apiKey).toBe('explicit')
        expect(third.verificationKeyPem).toBe(pair.publicKeyPem)
        await third.close()
        parsePrivateKey(pair.privateKeyPem, 'x')
      } finally {
        if (env.key !== undefined) process.env['DISPATCH_API_KEY'] = env.key
        if (env.signing !== undefined) process.env['DISPATCH_SIGNING_KEY'] = env.signing
      }
    } finally {
      await removeFolder(dir)
    }
  })

  it('refuses to start a second scheduler on the same database', async () => {
    await expect(startScheduler({ dbPath: join(folder, 'dispatch.db'), apiKey: 'k' })).rejects.toMatchObject({
      code: 'DSP3002',
    })
  })
})
