import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair, parsePrivateKey } from '../../runtime/index.js'
import { EndpointAllowList } from '../../scheduler/calls/endpointAllowList.js'
import { AdaptiveConcurrency } from '../../scheduler/delivery/adaptiveConcurrency.js'
import { EndpointClient } from '../../scheduler/delivery/endpointClient.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// What endpoints (or callers naming endpoints) can do to a scheduler: answer garbage, be many, be foreign.
type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void

const servers: Server[] = []

/** A plain HTTP server on 127.0.0.1 (no signature check): it answers what the test wants. */
async function rawEndpoint(handle: Handler): Promise<string> {
  const server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => {
      body += chunk
    })
    request.on('end', () => handle(request, body, response))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

const answerJson = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(typeof body === 'string' ? body : JSON.stringify(body))
}

let folder: string
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.closeAllConnections?.() ?? s.close(resolve))))
  for (const s of servers) s.close()
  await removeFolder(folder)
})
beforeAll(async () => {
  folder = await tempFolder()
})

describe("an endpoint's error answer", () => {
  let t: TestScheduler
  beforeAll(async () => {
    t = await startTestScheduler(join(folder, 'errors.db'))
  })
  afterAll(() => t.scheduler.close())

  it('is copied into the call as a short excerpt without control characters', async () => {
    const hostile = `\u001b[31mboom\r\nX-Injected: yes\u0000\u202e${'A'.repeat(100_000)}`
    const plain = await rawEndpoint((_q, _b, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' })
      response.end(hostile)
    })
    const connect = await rawEndpoint((_q, _b, response) =>
      answerJson(response, 500, { code: 'internal', message: `bad\u001b]0;title\u0007${'B'.repeat(10_000)}` }),
    )
    const ids = await t.dispatch([
      { endpoint: plain, function: 'f', input: value([]), maxAttempts: 1 },
      { endpoint: connect, function: 'f', input: value([]), maxAttempts: 1 },
    ])
    for (const id of ids) {
      const call = await t.settle(id)
      expect(call.state).toBe('failed')
      const message = call.error!.message
      expect(message.length).toBeLessThan(400)
      expect(message).not.toMatch(/[\p{Cc}\p{Cf}]/u)
    }
    const [first, second] = await Promise.all(ids.map((id) => t.calls.get(id)))
    expect(first!.error!.message).toContain('boom X-Injected: yes')
    expect(second!.error!.message).toContain('internal: bad')
  })
})

describe('idle endpoint origins', () => {
  it('drops the pools of idle origins, never one with a request in flight', async () => {
    const key = parsePrivateKey(generateSigningKeyPair().privateKeyPem, 'test key')
    const client = new EndpointClient(key, 4)
    const origins = await Promise.all(
      Array.from({ length: 30 }, () => rawEndpoint((_q, _b, response) => answerJson(response, 200, {}))),
    )
    let release: (() => void) | undefined
    const held = await rawEndpoint((_q, _b, response) => {
      release = () => answerJson(response, 200, { status: 'STATUS_OK' })
    })
    const request = { function: 'f' }
    const never = new AbortController().signal
    for (const origin of origins) {
      expect((await client.post(origin, request, 10_000, never)).kind).toBe('answer')
    }
    const inFlight = client.post(held, request, 60_000, never)
    await eventually(() => release)
    expect(client.poolCount).toBe(31)
    // The first sweep marks every origin unused; the second drops those that stayed so.
    client.sweep()
    client.sweep()
    expect(client.poolCount).toBe(1)
    release!()
    const outcome = await inFlight
    expect(outcome).toEqual({ kind: 'answer', body: JSON.stringify({ status: 'STATUS_OK' }) })
    client.sweep()
    client.sweep()
    expect(client.poolCount).toBe(0)
    // An origin used again gets a new pool.
    expect((await client.post(origins[0]!, request, 10_000, never)).kind).toBe('answer')
    expect(client.poolCount).toBe(1)
    await client.close()
  })

  it('forgets the limits of idle origins, never one with an attempt in flight', () => {
    const limits = new AdaptiveConcurrency({ min: 1, max: 100, initial: 10, decrease: 0.5 })
    const tokens = Array.from({ length: 10_000 }, (_, i) => limits.start(`http://127.0.0.1:${i}`))
    for (let i = 1; i < tokens.length; i++) limits.end(`http://127.0.0.1:${i}`, tokens[i]!, 'STATUS_OK')
    expect(limits.size).toBe(10_000)
    limits.sweep()
    limits.sweep()
    expect(limits.size).toBe(1)
    expect(limits.snapshot()).toEqual([{ endpoint: 'http://127.0.0.1:0', limit: 10, min: 1, max: 100, inFlight: 1 }])
    limits.end('http://127.0.0.1:0', tokens[0]!, 'STATUS_OK')
    limits.sweep()
    limits.sweep()
    expect(limits.size).toBe(0)
  })

  it('lets a running scheduler drop the origins it no longer calls', async () => {
    const t = await startTestScheduler(join(folder, 'idle.db'), { endpointIdleMs: 50 })
    try {
      const origins = await Promise.all(
        Array.from({ length: 20 }, () =>
          rawEndpoint((_q, _b, response) => answerJson(response, 200, { status: 'STATUS_OK', exit: { result: {} } })),
        ),
      )
      const ids = await t.dispatch(origins.map((endpoint) => ({ endpoint, function: 'f', input: value([]) })))
      for (const id of ids) expect((await t.settle(id)).state).toBe('succeeded')
      await eventually(async () => ((await t.scheduler.stats()).endpoints.length === 0 ? true : undefined))
    } finally {
      await t.scheduler.close()
    }
  })
})

describe('the endpoint allow-list', () => {
  let t: TestScheduler
  let allowed: string
  let foreign: string
  const turns: unknown[] = []

  beforeAll(async () => {
    foreign = await rawEndpoint((_q, _b, response) =>
      answerJson(response, 200, { status: 'STATUS_OK', exit: { result: {} } }),
    )
    allowed = await rawEndpoint((_q, body, response) => {
      const run = JSON.parse(body) as { function: string; pollResult?: unknown }
      if (run.function === 'tail') {
        return answerJson(response, 200, {
          status: 'STATUS_OK',
          exit: { result: {}, tailCall: { function: 'elsewhere', endpoint: foreign } },
        })
      }
      if (run.function === 'fanOut') {
        if (run.pollResult !== undefined) {
          turns.push(run.pollResult)
          return answerJson(response, 200, { status: 'STATUS_OK', exit: { result: {} } })
        }
        return answerJson(response, 200, {
          status: 'STATUS_OK',
          poll: { coroutineState: 'c3RhdGU=', calls: [{ function: 'child', endpoint: foreign }], maxResults: 1 },
        })
      }
      return answerJson(response, 200, { status: 'STATUS_OK', exit: { result: {} } })
    })
    t = await startTestScheduler(join(folder, 'allow.db'), { allowEndpoints: [`${allowed}/`] })
  })
  afterAll(() => t.scheduler.close())

  it('refuses a Dispatch to another endpoint, naming the call and the allow-list', async () => {
    const answer = await t.post('/dispatch.sdk.v1.DispatchService/Dispatch', {
      calls: [
        { endpoint: allowed, function: 'ok', input: value([]) },
        { endpoint: foreign, function: 'ok', input: value([]) },
      ],
    })
    expect(answer.status).toBe(403)
    expect(answer.body.code).toBe('permission_denied')
    expect(answer.body.message).toContain('call 1: endpoint')
    expect(answer.body.message).toContain('allow-list')
    expect((await t.calls.list({ limit: 10 })).calls).toEqual([])
    const [ok] = await t.dispatch([{ endpoint: `${allowed}/app`, function: 'ok', input: value([]) }])
    expect((await t.settle(ok!)).state).toBe('succeeded')
  })

  it("fails a tail call to another endpoint, and refuses a coroutine's child call to one", async () => {
    const [tail, fanOut] = await t.dispatch([
      { endpoint: allowed, function: 'tail', input: value([]) },
      { endpoint: allowed, function: 'fanOut', input: value([]) },
    ])
    const tailed = await t.settle(tail!)
    expect(tailed).toMatchObject({ state: 'failed', status: 'STATUS_PERMISSION_DENIED' })
    expect(tailed.error).toMatchObject({ type: 'EndpointNotAllowed' })
    expect(tailed.error!.message).toContain(foreign)
    expect((await t.settle(fanOut!)).state).toBe('succeeded')
    expect(JSON.stringify(turns)).toContain('allow-list')
    expect((await t.calls.list({ limit: 10, function: 'child' })).calls).toEqual([])
  })

  it('matches URL prefixes at path and host boundaries', () => {
    const list = new EndpointAllowList(['https://app.example.com/api', 'http://*.tenants.test:8080/'])
    const ok = (url: string) => list.refusal(url) === undefined
    expect(ok('https://app.example.com/api')).toBe(true)
    expect(ok('https://APP.example.com:443/api/run')).toBe(true)
    expect(ok('https://app.example.com/apix')).toBe(false)
    expect(ok('https://app.example.com.evil.test/api')).toBe(false)
    expect(ok('http://app.example.com/api')).toBe(false)
    expect(ok('https://user@app.example.com/api')).toBe(false)
    expect(ok('http://a.tenants.test:8080/x')).toBe(true)
    expect(ok('http://tenants.test:8080/x')).toBe(false)
    expect(ok('http://a.tenants.test/x')).toBe(false)
    expect(() => new EndpointAllowList(['ftp://x'])).toThrow(/DSP3021|http\(s\)/)
    expect(() => new EndpointAllowList(['https://a.*.test/'])).toThrow(/'\*'/)
    expect(() => new EndpointAllowList([])).toThrow(/empty/)
  })
})
