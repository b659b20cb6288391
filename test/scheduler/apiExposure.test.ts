import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postToScheduler } from '../../runtime/client/dispatchBatch.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { DispatchError } from '../../schemas/errors/dispatchError.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// The scheduler's API exposed to clients it does not trust: slow sockets, big bodies, big calls.
const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'
const LIST = '/dispatch.scheduler.v1.CallService/List'
// Nothing listens on port 9; calls are delayed so that delivery never happens during the test.
const endpoint = 'http://127.0.0.1:9'
const BODY_LIMIT = 64 * 1024
const MESSAGE_BYTES = 8 * 1024
const PAGE_BYTES = 10 * 1024

let folder: string
let t: TestScheduler

beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'), {
    bodyLimit: BODY_LIMIT,
    apiTimeouts: { headersMs: 200, requestMs: 300 },
    listMessageBytes: MESSAGE_BYTES,
    listPageBytes: PAGE_BYTES,
  })
})
afterAll(async () => {
  await t?.scheduler.close()
  await removeFolder(folder)
})

/** Opens a raw socket to the API, writes `text`, and resolves with what came back once the server closed it. */
function rawRequest(text: string, deadlineMs = 15_000): Promise<{ closed: boolean; received: string }> {
  const { port } = new URL(t.scheduler.url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1')
    let received = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ closed: false, received })
    }, deadlineMs)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ closed: true, received })
    })
    socket.write(text)
  })
}

const headers = (authorization: string | undefined, contentLength: number) =>
  [
    `POST ${DISPATCH} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${contentLength}`,
    ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    '',
    '',
  ].join('\r\n')

describe('slow clients', () => {
  it('closes a socket that sent its headers but never its body, within the request deadline', async () => {
    const answer = await rawRequest(headers(`Bearer ${t.scheduler.apiKey}`, 1000))
    expect(answer.closed).toBe(true)
    expect(answer.received).toMatch(/^HTTP\/1\.1 408/)
  })

  it('closes a socket that never finishes its headers', async () => {
    const answer = await rawRequest(`POST ${DISPATCH} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
    expect(answer.closed).toBe(true)
  })

  it('answers 401 with Connection: close and closes without reading the body', async () => {
    // A deadline under the request deadline's 300 ms would be a timing assumption: the 401 must come
    // with `connection: close`, and the server must close the socket that never sends its body.
    const answer = await rawRequest(headers(undefined, 1_000_000))
    expect(answer.closed).toBe(true)
    expect(answer.received).toMatch(/^HTTP\/1\.1 401/)
    expect(answer.received.toLowerCase()).toContain('connection: close')
  })

  it('still answers a Wait that lasts longer than the request deadline', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'later', delay: '3600s' }])
    const answer = await t.post('/dispatch.scheduler.v1.CallService/Wait', { dispatchId: id, timeout: '1s' })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ done: false, call: { dispatchId: id, state: 'pending' } })
  })

  it('refuses deadlines that cannot work, naming the option (DSP3020)', () => {
    const code = (apiTimeouts: object) => {
      try {
        resolveSchedulerOptions({ apiTimeouts })
        return 'accepted'
      } catch (error) {
        return `${(error as DispatchError).code}: ${(error as Error).message}`
      }
    }
    expect(code({ idleMs: 60_000 })).toMatch(/^DSP3020: .*apiTimeouts\.idleMs/)
    expect(code({ headersMs: 5000, requestMs: 1000 })).toMatch(/^DSP3020: .*apiTimeouts\.headersMs/)
    expect(code({ requestMs: 0 })).toMatch(/^DSP3020: .*apiTimeouts\.requestMs/)
    expect(code({ idleMs: 0, headersMs: 1, requestMs: 1 })).toBe('accepted')
  })
})

describe('a body over the limit', () => {
  const big = { calls: [{ endpoint, function: 'f', input: value(['x'.repeat(BODY_LIMIT)]), delay: '3600s' }] }

  it('is answered 413 naming the limit, not a retryable 429', async () => {
    const answer = await t.post(DISPATCH, big)
    expect(answer.status).toBe(413)
    expect(answer.body.code).toBe('invalid_argument')
    expect(answer.body.message).toContain(`limit of ${BODY_LIMIT} bytes`)
    expect(answer.body.message).toMatch(/fewer calls|by reference/)
  })

  it('makes the client throw DSP2102 at once', async () => {
    const refusal = (await postToScheduler(t.scheduler.url, t.scheduler.apiKey, DISPATCH, big).catch(
      (e: unknown) => e,
    )) as DispatchError
    expect(refusal).toBeInstanceOf(DispatchError)
    expect(refusal).toMatchObject({ code: 'DSP2102', httpStatus: 413 })
    expect(refusal.message).toContain(`limit of ${BODY_LIMIT} bytes`)
  })

  it('is sent once by the client, never retried', async () => {
    let requests = 0
    const server: Server = createServer((request, response) => {
      requests++
      request.resume()
      response.writeHead(413, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ code: 'invalid_argument', message: 'too big' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const address = server.address() as { port: number }
      const refusal = await postToScheduler(`http://127.0.0.1:${address.port}`, 'k', DISPATCH, {}).catch((e) => e)
      expect(refusal).toMatchObject({ code: 'DSP2102' })
      expect(requests).toBe(1)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('List over large calls', () => {
  it('leaves large messages out (sizes given), caps a page by bytes, and pages through every call once', async () => {
    const text = (n: number) => value(['y'.repeat(n)])
    const large = await t.dispatch([{ endpoint, function: 'sized', input: text(40_000), delay: '3600s' }])
    const medium = await t.dispatch(
      Array.from({ length: 5 }, () => ({ endpoint, function: 'sized', input: text(4000), delay: '3600s' })),
    )
    const small = await t.dispatch([{ endpoint, function: 'sized', input: text(10), delay: '3600s' }])
    const everyone = [...large, ...medium, ...small]

    const seen: string[] = []
    const pages: any[][] = []
    let cursor: string | undefined
    do {
      const answer = await t.post(LIST, { function: 'sized', limit: 100, ...(cursor ? { cursor } : {}) })
      expect(answer.status).toBe(200)
      pages.push(answer.body.calls)
      for (const call of answer.body.calls) seen.push(call.dispatchId)
      cursor = answer.body.nextCursor
    } while (cursor !== undefined && pages.length < 20)
    expect(seen.sort()).toEqual([...everyone].sort())

    const listed = new Map(pages.flat().map((c) => [c.dispatchId, c]))
    const big = listed.get(large[0]!)
    expect(big.input).toBeUndefined()
    expect(big.inputBytes).toBeGreaterThan(40_000)
    expect(listed.get(small[0]!).input).toEqual(text(10))
    expect(listed.get(small[0]!).inputBytes).toBeUndefined()
    for (const id of medium) expect(listed.get(id).input).toEqual(text(4000))
    // Each page holds at least one call, and never more message bytes than the cap beyond its first call.
    for (const page of pages) {
      expect(page.length).toBeGreaterThan(0)
      const bytes = page.map((c) => (c.input === undefined ? 0 : JSON.stringify(c.input).length))
      expect(bytes.slice(1).reduce((a, b) => a + b, bytes[0]!)).toBeLessThanOrEqual(Math.max(PAGE_BYTES, bytes[0]!))
    }
    expect(pages.length).toBeGreaterThan(2)

    // Get gives the call in full.
    const got = await t.post('/dispatch.scheduler.v1.CallService/Get', { dispatchId: large[0] })
    expect(got.body.call.input).toEqual(text(40_000))
    expect(got.body.call.inputBytes).toBeUndefined()
  })
})

describe('idempotency keys', () => {
  const order = (fn: string, text: string) => ({
    calls: [{ endpoint, function: fn, idempotencyKey: 'order-42', input: value([text]), delay: '3600s' }],
  })

  it("keep one tenant's key from answering another's call, and refuse a key reused with another input", async () => {
    const a = await t.post(DISPATCH, order('charge', 'tenant A'))
    const b = await t.post(DISPATCH, order('ship', 'tenant B'))
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    const [idA] = a.body.dispatchIds
    const [idB] = b.body.dispatchIds
    expect(idB).not.toBe(idA)
    expect((await t.calls.get(idB)).input).toEqual(value(['tenant B']))
    // The same key with the same input is a repeat: the first call's id.
    expect((await t.post(DISPATCH, order('charge', 'tenant A'))).body.dispatchIds).toEqual([idA])

    const changed = await t.post(DISPATCH, order('charge', 'tenant A, 99 EUR'))
    expect(changed.status).toBe(409)
    expect(changed.body.code).toBe('already_exists')
    expect(changed.body.message).toContain('DSP3022')
    expect(changed.body.message).toContain('"order-42"')
    expect(changed.body.message).toContain(idA)
    const refusal = (await postToScheduler(
      t.scheduler.url,
      t.scheduler.apiKey,
      DISPATCH,
      order('charge', 'tenant A, 99 EUR'),
    ).catch((e: unknown) => e)) as DispatchError
    expect(refusal).toMatchObject({ code: 'DSP2103', httpStatus: 409 })
    expect((await t.calls.list({ function: 'charge', limit: 10 })).calls.map((c) => c.dispatchId)).toEqual([idA])
  })
})
