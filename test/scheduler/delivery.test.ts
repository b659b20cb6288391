import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  currentCall,
  defineRoutes,
  PermanentError,
  TemporaryError,
  tailCall,
  tupleSchema,
} from '../../runtime/index.js'
import { SELF_SIGNED_CERT, SELF_SIGNED_KEY } from './fixtures/selfSignedCertificate.js'
import {
  eventually,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from './helpers.js'

/** What the endpoint saw: every run, by dispatch id. */
const runs: { function: string; dispatchId: string; args: unknown[]; at: number; creationTime: Date | undefined }[] = []
const runsOf = (id: string, fn?: string) =>
  runs.filter((r) => r.dispatchId === id && (fn === undefined || r.function === fn))
const failuresLeft = new Map<string, number>()
let redriveFixed = false
let releaseSlow: (() => void) | undefined

function seen(fn: string, args: unknown[]) {
  const call = currentCall()
  runs.push({ function: fn, dispatchId: call.dispatchId ?? '', args, at: Date.now(), creationTime: call.creationTime })
}

const any = { input: tupleSchema([{}, {}], 0), output: {}, source: 'test/scheduler/delivery.test.ts:1' }
const routes = defineRoutes({
  echo: {
    ...any,
    handler: (x: unknown) => {
      seen('echo', [x])
      return { echoed: x }
    },
  },
  flaky: {
    ...any,
    handler: (key: string) => {
      seen('flaky', [key])
      const left = failuresLeft.get(key) ?? 0
      if (left > 0) {
        failuresLeft.set(key, left - 1)
        throw new TemporaryError(`not yet (${left})`)
      }
      return 'finally'
    },
  },
  temporary: {
    ...any,
    handler: () => {
      seen('temporary', [])
      throw new TemporaryError('always later')
    },
  },
  permanent: {
    ...any,
    handler: () => {
      seen('permanent', [])
      if (redriveFixed) return 'fixed'
      throw new PermanentError('never')
    },
  },
  countdown: {
    ...any,
    handler: (n: number) => {
      seen('countdown', [n])
      if (n > 0) return tailCall({ function: n > 1 ? 'countdown' : 'liftoff', args: [n - 1], options: {}, client: {} })
      return 'unreachable'
    },
  },
  liftoff: {
    ...any,
    handler: (n: number) => {
      seen('liftoff', [n])
      return `liftoff at ${n}`
    },
  },
  slow: {
    ...any,
    handler: async () => {
      seen('slow', [])
      await new Promise<void>((resolve) => {
        releaseSlow = resolve
      })
      return 'slow done'
    },
  },
})

let folder: string
let t: TestScheduler
let endpoint: string
let endpointApp: FastifyInstance
let raw: FastifyInstance
let rawUrl: string
let tls: FastifyInstance
let tlsUrl: string
const rawRuns = new Map<string, number>()

beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'db', 'dispatch.db'), {
    functions: { slowTimeout: { attemptTimeoutMs: 200, maxAttempts: 2 } },
  })
  const started = await startEndpoint(routes, t.scheduler.verificationKeyPem)
  endpoint = started.url
  endpointApp = started.app
  // A raw server answering what the dispatch plugin never would: garbage, HTTP errors, Poll, silence.
  raw = Fastify()
  raw.post('/:kind/dispatch.sdk.v1.FunctionService/Run', async (request, reply) => {
    const kind = (request.params as { kind: string }).kind
    rawRuns.set(kind, (rawRuns.get(kind) ?? 0) + 1)
    switch (kind) {
      case 'garbage':
        return reply.header('content-type', 'application/json').send('{"status": 42, "nonsense": true}')
      case 'notjson':
        return reply.header('content-type', 'text/plain').send('hello')
      case 'http503':
        return reply.code(503).send({ code: 'unavailable', message: 'down for maintenance' })
      case 'http404':
        return reply.code(404).send({ code: 'not_found', message: 'no such function' })
      case 'http429':
        return reply.code(429).send({ code: 'resource_exhausted', message: 'slow down' })
      case 'poll':
        // A Poll suspends the call; its resumed turn (pollResult) then fails for good.
        if ((request.body as { pollResult?: unknown }).pollResult !== undefined) {
          return {
            status: 'STATUS_PERMANENT_ERROR',
            exit: { result: { error: { type: 'ResumedOnce', message: 'resumed after its Poll' } } },
          }
        }
        return { status: 'STATUS_OK', poll: { calls: [], maxWait: '1s' } }
      case 'silent':
        await new Promise((resolve) => setTimeout(resolve, 2000))
        return { status: 'STATUS_OK', exit: { result: {} } }
    }
    return reply.code(500).send('unexpected')
  })
  await raw.listen({ host: '127.0.0.1', port: 0 })
  // An https endpoint whose certificate no client trusts.
  tls = Fastify({ https: { key: SELF_SIGNED_KEY, cert: SELF_SIGNED_CERT } }) as unknown as FastifyInstance
  tls.post('/dispatch.sdk.v1.FunctionService/Run', async () => ({ status: 'STATUS_OK', exit: { result: {} } }))
  await tls.listen({ host: '127.0.0.1', port: 0 })
  const tlsAddress = tls.server.address()
  tlsUrl = `https://127.0.0.1:${typeof tlsAddress === 'object' && tlsAddress !== null ? tlsAddress.port : 0}`
  const address = raw.server.address()
  rawUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
})

afterAll(async () => {
  releaseSlow?.()
  await t?.scheduler.close()
  await endpointApp?.close()
  await raw?.close()
  await tls?.close()
  await removeFolder(folder)
})

describe('delivery', () => {
  it('dispatches, runs a signed request and records the result', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'echo', input: value(['hi']) }])
    const call = await t.settle(id!)
    expect(call).toMatchObject({
      dispatchId: id,
      function: 'echo',
      state: 'succeeded',
      status: 'STATUS_OK',
      attempts: 1,
      output: value({ echoed: 'hi' }),
    })
    expect(runsOf(id!)).toHaveLength(1)
    expect(runsOf(id!)[0]!.creationTime?.toISOString()).toBe(call.createdAt)
  })

  it('retries temporary failures with backoff until the call succeeds', async () => {
    failuresLeft.set('three', 3)
    const [id] = await t.dispatch([{ endpoint, function: 'flaky', input: value(['three']) }])
    const call = await t.settle(id!)
    expect(call).toMatchObject({ state: 'succeeded', attempts: 4, output: value('finally') })
    expect(runsOf(id!)).toHaveLength(4)
  })

  it('gives up after max attempts, keeping the last status and error', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'temporary', maxAttempts: 3 }])
    const call = await t.settle(id!)
    expect(call).toMatchObject({
      state: 'failed',
      status: 'STATUS_TEMPORARY_ERROR',
      attempts: 3,
      error: { type: 'TemporaryError', message: 'always later' },
    })
    expect(runsOf(id!)).toHaveLength(3)
  })

  it('does not retry a terminal status', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'permanent' }])
    const call = await t.settle(id!)
    expect(call).toMatchObject({ state: 'failed', status: 'STATUS_PERMANENT_ERROR', attempts: 1 })
    expect(runsOf(id!)).toHaveLength(1)
  })

  it('stops retrying when the call expires', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'temporary', expiration: '0.3s', maxAttempts: 10_000 }])
    const call = await t.settle(id!)
    expect(call.state).toBe('failed')
    // The last attempt either failed on its own, or was cut off at the expiration.
    expect(['STATUS_TEMPORARY_ERROR', 'STATUS_TIMEOUT']).toContain(call.status)
    expect(call.expiresAt).toBeDefined()
    expect(runsOf(id!).length).toBeGreaterThan(0)
    expect(runsOf(id!).length).toBeLessThan(10_000)
  })

  it('fails a call that expired before it could run, without running it', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'echo', delay: '0.2s', expiration: '0.1s' }])
    const call = await t.settle(id!)
    expect(call).toMatchObject({ state: 'failed', error: { type: 'Expired' } })
    expect(runsOf(id!)).toHaveLength(0)
  })

  it('runs a delayed call no earlier than its delay, and a notBefore call no earlier than that instant', async () => {
    const before = Date.now()
    const [delayed, scheduled] = await t.dispatch([
      { endpoint, function: 'echo', input: value(['delayed']), delay: '0.3s' },
      { endpoint, function: 'echo', input: value(['scheduled']), notBefore: new Date(before + 300).toISOString() },
    ])
    const info = await t.calls.get(delayed!)
    expect(info.state).toBe('pending')
    expect(Date.parse(info.nextAttemptAt!)).toBeGreaterThanOrEqual(Date.parse(info.createdAt) + 300)
    await t.settle(delayed!)
    await t.settle(scheduled!)
    const delayedRun = runsOf(delayed!)[0]!
    expect(delayedRun.at).toBeGreaterThanOrEqual(Date.parse(info.createdAt) + 300)
    expect(runsOf(scheduled!)[0]!.at).toBeGreaterThanOrEqual(before + 300)
  })

  it('replaces a call with its tail calls, keeping the dispatch id and creation time', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'countdown', input: value([3]) }])
    const call = await t.settle(id!)
    expect(call).toMatchObject({
      dispatchId: id,
      state: 'succeeded',
      function: 'liftoff',
      output: value('liftoff at 0'),
    })
    expect(runsOf(id!).map((r) => `${r.function}(${r.args[0]})`)).toEqual([
      'countdown(3)',
      'countdown(2)',
      'countdown(1)',
      'liftoff(0)',
    ])
    const created = new Set(runsOf(id!).map((r) => r.creationTime?.toISOString()))
    expect([...created]).toEqual([call.createdAt])
  })

  it('maps transport failures and bad answers to statuses, retrying only the retried ones', async () => {
    const closed = 'http://127.0.0.1:1'
    const ids = await t.dispatch([
      { endpoint: closed, function: 'echo', maxAttempts: 2 },
      { endpoint: `${rawUrl}/garbage`, function: 'echo', maxAttempts: 5 },
      { endpoint: `${rawUrl}/notjson`, function: 'echo', maxAttempts: 5 },
      { endpoint: `${rawUrl}/http503`, function: 'echo', maxAttempts: 2 },
      { endpoint: `${rawUrl}/http404`, function: 'echo', maxAttempts: 5 },
      { endpoint: `${rawUrl}/http429`, function: 'echo', maxAttempts: 2 },
      { endpoint: `${rawUrl}/poll`, function: 'echo', maxAttempts: 5 },
      { endpoint: `${rawUrl}/silent`, function: 'slowTimeout' },
      { endpoint: 'http://no-such-host.invalid', function: 'echo', maxAttempts: 1 },
      { endpoint: tlsUrl, function: 'echo', maxAttempts: 2 },
    ])
    const calls = await Promise.all(ids.map((id) => t.settle(id)))
    const summary = calls.map((c) => [c.status, c.attempts])
    expect(summary).toEqual([
      ['STATUS_TCP_ERROR', 2],
      ['STATUS_INVALID_RESPONSE', 1],
      ['STATUS_INVALID_RESPONSE', 1],
      ['STATUS_HTTP_ERROR', 2],
      ['STATUS_NOT_FOUND', 1],
      ['STATUS_THROTTLED', 2],
      ['STATUS_PERMANENT_ERROR', 1],
      ['STATUS_TIMEOUT', 2],
      ['STATUS_DNS_ERROR', 1],
      ['STATUS_TLS_ERROR', 2],
    ])
    expect(calls.every((c) => c.state === 'failed')).toBe(true)
    expect(calls[3]!.error?.message).toContain('down for maintenance')
    expect(calls[6]!.error?.type).toBe('ResumedOnce')
    expect(rawRuns.get('garbage')).toBe(1)
  })

  it('returns the first id for a repeated idempotency key and runs the call once', async () => {
    const call = { endpoint, function: 'echo', input: value(['once']), idempotencyKey: 'order-17' }
    const [first] = await t.dispatch([call])
    const [second, third] = await t.dispatch([call, call])
    expect(second).toBe(first)
    expect(third).toBe(first)
    await t.settle(first!)
    expect(runsOf(first!)).toHaveLength(1)
    expect(
      (await t.calls.list({ function: 'echo', limit: 1000 })).calls.filter((c) => c.dispatchId === first),
    ).toHaveLength(1)
  })

  it('cancels a pending call so it never runs, and a running one so its outcome is dropped', async () => {
    const [pending, running] = await t.dispatch([
      { endpoint, function: 'echo', delay: '60s' },
      { endpoint, function: 'slow' },
    ])
    expect(await t.calls.cancel(pending!)).toMatchObject({ state: 'cancelled' })
    await eventually(() => (runsOf(running!).length > 0 ? true : undefined))
    expect(await t.calls.cancel(running!)).toMatchObject({ state: 'cancelled' })
    releaseSlow!()
    // The cancelled attempt's answer arrives and is dropped; the slot it held is freed.
    await eventually(async () => ((await t.scheduler.inFlight) === 0 ? true : undefined))
    expect(await t.calls.get(running!)).toMatchObject({ state: 'cancelled' })
    expect(runsOf(pending!)).toHaveLength(0)
    // Cancelling again is a no-op; cancelling a finished call is refused.
    expect(await t.calls.cancel(pending!)).toMatchObject({ state: 'cancelled' })
    const [done] = await t.dispatch([{ endpoint, function: 'echo' }])
    await t.settle(done!)
    const refused = await t.post('/dispatch.scheduler.v1.CallService/Cancel', { dispatchId: done })
    expect(refused.status).toBe(400)
    expect(refused.body).toMatchObject({ code: 'failed_precondition' })
  })

  it('redrives a failed call from its input with a fresh budget', async () => {
    redriveFixed = false
    const [id] = await t.dispatch([{ endpoint, function: 'permanent', input: value(['x']) }])
    expect(await t.settle(id!)).toMatchObject({ state: 'failed' })
    redriveFixed = true
    const redriven = await t.calls.redrive(id!)
    expect(redriven).toMatchObject({ state: 'pending', attempts: 0 })
    expect(await t.settle(id!)).toMatchObject({ state: 'succeeded', attempts: 1, output: value('fixed') })
    const again = await t.post('/dispatch.scheduler.v1.CallService/Redrive', { dispatchId: id })
    expect(again.status).toBe(400)
    expect(again.body.message).toContain('succeeded')
  })

  it('answers Wait when the call finishes, or with done=false when the timeout passes', async () => {
    const [id] = await t.dispatch([{ endpoint, function: 'echo', delay: '60s' }])
    const short = await t.calls.wait(id!, '10ms')
    expect(short.done).toBe(false)
    expect(short.call.state).toBe('pending')
    // A long poll in progress is answered as soon as the call becomes terminal.
    const long = t.calls.wait(id!, '20s')
    await t.calls.cancel(id!)
    expect(await long).toMatchObject({ done: true, call: { state: 'cancelled' } })
    const [quick] = await t.dispatch([{ endpoint, function: 'echo' }])
    expect(await t.calls.wait(quick!, '20s')).toMatchObject({ done: true, call: { state: 'succeeded' } })
  })

  it('lists calls newest first, filtered by state, function and fairness key, page by page', async () => {
    const ids = await t.dispatch(
      Array.from({ length: 5 }, (_, i) => ({
        endpoint,
        function: 'echo',
        input: value([i]),
        fairnessKey: 'tenant-list',
        delay: '60s',
      })),
    )
    const seenIds: string[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await t.calls.list({ fairnessKey: 'tenant-list', limit: 2, ...(cursor ? { cursor } : {}) })
      seenIds.push(...page.calls.map((c) => c.dispatchId))
      if (page.nextCursor === undefined) break
      cursor = page.nextCursor
    }
    expect(seenIds).toEqual([...ids].reverse())
    const pending = await t.calls.list({ state: 'pending', function: 'echo', fairnessKey: 'tenant-list' })
    expect(pending.calls).toHaveLength(5)
    expect(pending.calls[0]).toMatchObject({ fairnessKey: 'tenant-list', state: 'pending' })
    expect((await t.calls.list({ state: 'succeeded', fairnessKey: 'tenant-list' })).calls).toHaveLength(0)
    for (const id of ids) await t.calls.cancel(id)
    const stats = await t.scheduler.stats()
    expect(stats.some((s) => s.function === 'echo' && s.state === 'cancelled')).toBe(true)
  })
})
