import { describe, expect, it } from 'vitest'
import { okAnswer } from '../../runtime/endpoint/runAnswer.js'
import { newDispatchId } from '../../scheduler/calls/dispatchId.js'
import { nestedDeeperThan } from '../../scheduler/calls/jsonDepth.js'
import { DEFAULT_RETRY_POLICY } from '../../scheduler/calls/retryPolicy.js'
import { unwatchAbort, watchAbort } from '../../scheduler/delivery/abortWatch.js'
import { backoffDelay } from '../../scheduler/delivery/backoff.js'
import { decideCompletion } from '../../scheduler/delivery/decideCompletion.js'
import { runUrl } from '../../scheduler/delivery/endpointClient.js'
import { LeaseRenewal } from '../../scheduler/delivery/leaseRenewal.js'
import { OK_WITHOUT_OUTPUT } from '../../scheduler/delivery/okWithoutOutput.js'
import { readAnswerLine } from '../../scheduler/delivery/readAnswerLine.js'
import { httpStatus, transportStatus } from '../../scheduler/delivery/transportStatus.js'
import type { QueueKey, StoredCall } from '../../scheduler/index.js'

const policy = { ...DEFAULT_RETRY_POLICY, initialBackoffMs: 100, backoffMultiplier: 2, maxBackoffMs: 1000 }

describe('backoff', () => {
  it('is full jitter under an exponential cap', () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(0)
    expect(backoffDelay(policy, 1, () => 0.999999)).toBe(99)
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200)
    expect(backoffDelay(policy, 30, () => 0.5)).toBe(500)
  })
})

describe('lease renewal', () => {
  it("passes the selector's notices on, so a queue that became due is not left for the next listing", () => {
    const noticed: Array<[readonly QueueKey[] | undefined, boolean | undefined]> = []
    const renewal = new LeaseRenewal(
      { renewLeases: async () => 0 },
      { owner: 'n1', leaseMs: 30_000, maxLeaseMs: 60_000 },
    )
    const tracked = renewal.track({
      claim: async () => [],
      notice: (queues, capped) => void noticed.push([queues, capped]),
    })
    const queue: QueueKey = { endpoint: 'http://127.0.0.1:1', function: 'f', fairnessKey: undefined }
    tracked.notice?.([queue], true)
    expect(noticed).toEqual([[[queue], true]])
    // A selector without notices gets none.
    expect(renewal.track({ claim: async () => [] }).notice).toBeUndefined()
  })
})

describe('statuses of failed deliveries', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code })
  it.each([
    ['ECONNREFUSED', 'STATUS_TCP_ERROR'],
    ['ECONNRESET', 'STATUS_TCP_ERROR'],
    ['UND_ERR_SOCKET', 'STATUS_TCP_ERROR'],
    ['ENOTFOUND', 'STATUS_DNS_ERROR'],
    ['EAI_AGAIN', 'STATUS_DNS_ERROR'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'STATUS_TLS_ERROR'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'STATUS_TLS_ERROR'],
    ['UND_ERR_HEADERS_TIMEOUT', 'STATUS_TIMEOUT'],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'STATUS_INVALID_RESPONSE'],
    ['EWHATEVER', 'STATUS_TEMPORARY_ERROR'],
  ])('%s → %s', (code, status) => {
    expect(transportStatus(withCode(code)).status).toBe(status)
    // undici wraps socket errors: the code of the cause counts.
    expect(transportStatus(new Error('fetch failed', { cause: withCode(code) })).status).toBe(status)
  })

  it.each([
    [400, 'STATUS_INVALID_ARGUMENT'],
    [401, 'STATUS_UNAUTHENTICATED'],
    [403, 'STATUS_PERMISSION_DENIED'],
    [404, 'STATUS_NOT_FOUND'],
    [408, 'STATUS_TIMEOUT'],
    [429, 'STATUS_THROTTLED'],
    [500, 'STATUS_HTTP_ERROR'],
    [503, 'STATUS_HTTP_ERROR'],
    [302, 'STATUS_HTTP_ERROR'],
  ])('HTTP %i → %s', (code, status) => {
    expect(httpStatus(code)).toBe(status)
  })
})

describe('deciding an attempt', () => {
  const call = {
    dispatchId: 'd',
    attempts: 2,
    maxAttempts: 3,
    endpoint: 'http://127.0.0.1:1/app',
    expiresAt: undefined,
  } as unknown as StoredCall
  const context = { owner: 'o', now: 1000, policy, random: () => 0.5 }
  const answer = (body: unknown) => ({ kind: 'answer' as const, body: JSON.stringify(body) })

  it('retries a retried status while attempts remain, then fails', () => {
    const temp = answer({ status: 'STATUS_TEMPORARY_ERROR', exit: { result: { error: { type: 'E', message: 'm' } } } })
    expect(decideCompletion(call, temp, context)).toMatchObject({ kind: 'retry', dueAt: 1100, attempt: 2 })
    expect(decideCompletion({ ...call, attempts: 3 }, temp, context)).toMatchObject({ kind: 'failed' })
    expect(decideCompletion({ ...call, expiresAt: 1050 }, temp, context)).toMatchObject({ kind: 'failed' })
  })

  it('follows a tail call whatever the status, on the same endpoint when it names none', () => {
    const tail = answer({ status: 'STATUS_TEMPORARY_ERROR', exit: { result: {}, tailCall: { function: 'next' } } })
    expect(decideCompletion(call, tail, context)).toMatchObject({
      kind: 'tailCall',
      function: 'next',
      endpoint: 'http://127.0.0.1:1/app',
    })
  })

  it("decides the endpoint's answer of a function that returned nothing as it decides the same answer parsed", () => {
    const empty = okAnswer(undefined).body
    expect(empty).toBe(OK_WITHOUT_OUTPUT)
    // A leading space: the same RunResponse, decided by parsing and checking it.
    for (const claimed of [call, { ...call, poll: { state: {} }, results: [] } as unknown as StoredCall]) {
      const decided = decideCompletion(claimed, { kind: 'answer', body: empty }, context)
      expect(decided).toEqual(decideCompletion(claimed, { kind: 'answer', body: ` ${empty}` }, context))
      expect(decided).toMatchObject({ kind: 'succeeded', status: 'STATUS_OK', output: undefined })
    }
  })

  it('reads the batch answer line of a function that returned nothing as it reads the same line parsed', () => {
    const empty = okAnswer(undefined).body
    const answered = [false, true, false]
    const read = (line: string) => readAnswerLine(line, 1, 3, answered, 'http://127.0.0.1:1')
    const decided = (line: string) => {
      const r = read(line)
      // A skipped line is named in its reason, so only the reason's code is compared.
      if (r.index === undefined) return { skipped: r.skipped.slice(0, 'DSP0000'.length) }
      return { index: r.index, completion: decideCompletion(call, r.outcome, context) }
    }
    for (const i of ['0', '2', '1', '3', '01', '-0', '2.0', '99999999999999999999']) {
      const line = `{"i":${i},"code":200,"answer":${empty}}`
      // A space after the colon: the same line, read by parsing and checking it.
      expect(decided(line)).toEqual(decided(line.replace('"i":', '"i": ')))
    }
    expect(decided(`{"i":2,"code":200,"answer":${empty}}`)).toMatchObject({
      index: 2,
      completion: { kind: 'succeeded' },
    })
    expect(read(`{"i":1,"code":200,"answer":${empty}}`)).toMatchObject({
      skipped: expect.stringMatching(/second time/),
    })
  })

  it('treats an answer that is not a RunResponse as INVALID_RESPONSE, not retried', () => {
    expect(decideCompletion(call, answer({ status: 'STATUS_NOPE' }), context)).toMatchObject({
      kind: 'failed',
      status: 'STATUS_INVALID_RESPONSE',
    })
  })
})

describe('abort watches', () => {
  it('tells each watcher of a signal once when it aborts, but those that stopped watching', () => {
    const controller = new AbortController()
    const told: number[] = []
    const watchers = Array.from({ length: 50 }, (_, i) => ({ abort: () => void told.push(i) }))
    for (const watcher of watchers) watchAbort(controller.signal, watcher)
    // Another signal in between: each keeps its own watchers.
    const other = new AbortController()
    const elsewhere = { abort: () => void told.push(-1) }
    watchAbort(other.signal, elsewhere)
    for (const watcher of watchers.slice(0, 10)) unwatchAbort(controller.signal, watcher)
    controller.abort()
    expect(told).toEqual(Array.from({ length: 40 }, (_, i) => i + 10))
    // An aborted signal tells a new watcher at once; nothing is told twice.
    watchAbort(controller.signal, watchers[0]!)
    controller.abort()
    expect(told).toEqual([...Array.from({ length: 40 }, (_, i) => i + 10), 0])
    unwatchAbort(other.signal, elsewhere)
    other.abort()
    expect(told).not.toContain(-1)
  })
})

describe('JSON depth', () => {
  const nest = (levels: number, inner: unknown = 1): unknown => {
    let value = inner
    for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { k: value }
    return value
  }
  it('counts the levels of arrays and objects below the top one, whatever the width', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false)
    expect(nestedDeeperThan(null, 0)).toBe(false)
    expect(nestedDeeperThan([], 0)).toBe(false)
    expect(nestedDeeperThan([[]], 0)).toBe(true)
    expect(nestedDeeperThan(nest(11), 10)).toBe(false)
    expect(nestedDeeperThan(nest(12), 10)).toBe(true)
    expect(nestedDeeperThan({ a: [1, 'x', null, nest(5)], b: nest(11) }, 10)).toBe(true)
    expect(nestedDeeperThan({ a: [1, 'x', null, nest(5)], b: nest(10) }, 10)).toBe(false)
    expect(nestedDeeperThan(nest(100_000))).toBe(true)
  })
})

describe('ids and URLs', () => {
  it('makes sortable unique ids', () => {
    const ids = Array.from({ length: 1000 }, () => newDispatchId())
    expect(new Set(ids).size).toBe(1000)
    expect([...ids].sort()).toEqual(ids)
    expect(ids[0]).toMatch(/^[0-9a-z]{26}$/)
  })

  it('keeps an endpoint path prefix', () => {
    expect(runUrl('http://h:1/app/').href).toBe('http://h:1/app/dispatch.sdk.v1.FunctionService/Run')
    expect(runUrl('https://h').href).toBe('https://h/dispatch.sdk.v1.FunctionService/Run')
  })
})
