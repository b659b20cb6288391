import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineRoutes, PermanentError, TemporaryError, tupleSchema } from '../../runtime/index.js'
import { openPostgresStore } from '../../scheduler/index.js'
import { removeFolder, startEndpoint, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

// The scheduler's Prometheus metrics, scraped from a real scheduler after real calls delivered over
// HTTP to a real endpoint: the series, their labels and their values.
let flakyFailures = 1
const any = { input: tupleSchema([{}], 0), output: {}, source: 'test/scheduler/metrics.test.ts:1' }
const routes = defineRoutes({
  echo: { ...any, handler: (x: unknown) => ({ echoed: x }) },
  flaky: {
    ...any,
    handler: () => {
      if (flakyFailures-- > 0) throw new TemporaryError('not yet')
      return 'ok'
    },
  },
  permanent: {
    ...any,
    handler: () => {
      throw new PermanentError('never')
    },
  },
})

/** The value of one sample of the exposition text (labels in any order), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    )
    const wanted = Object.entries(labels)
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) return Number(match[3])
  }
  return undefined
}

async function scrape(url: string, key?: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
}

describe('scheduler metrics (/metrics)', () => {
  const folders: string[] = []
  const started: TestScheduler[] = []
  let endpointApp: FastifyInstance | undefined
  let endpoint = ''
  let t: TestScheduler

  async function start(options: Parameters<typeof startTestScheduler>[1] = {}): Promise<TestScheduler> {
    const folder = await tempFolder()
    folders.push(folder)
    const s = await startTestScheduler(join(folder, 'dispatch.db'), options)
    started.push(s)
    return s
  }

  beforeAll(async () => {
    t = await start()
    const e = await startEndpoint(routes, t.scheduler.verificationKeyPem)
    endpointApp = e.app
    endpoint = e.url
  })
  afterAll(async () => {
    for (const s of started) await s.scheduler.close()
    await endpointApp?.close()
    for (const folder of folders) await removeFolder(folder)
  })

  it('counts accepted calls, attempts by status and outcome, durations, states, store commits and endpoint limits', async () => {
    const ids = await t.dispatch([
      { endpoint, function: 'echo', input: value(['a']) },
      { endpoint, function: 'echo', input: value(['b']) },
      { endpoint, function: 'flaky', input: value([null]) },
      { endpoint, function: 'permanent', input: value([null]) },
    ])
    for (const id of ids) await t.settle(id)
    expect(t.scheduler.metricsUrl).toBe(`${t.scheduler.url}/metrics`)
    const { status, type, text } = await scrape(t.scheduler.metricsUrl!, t.scheduler.apiKey)
    expect(status).toBe(200)
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/)

    expect(sample(text, 'dispatch_calls_accepted_total', { function: 'echo' })).toBe(2)
    expect(sample(text, 'dispatch_calls_accepted_total', { function: 'flaky' })).toBe(1)
    const attempts = (fn: string, status: string, outcome: string) =>
      sample(text, 'dispatch_attempts_total', { function: fn, status, outcome })
    expect(attempts('echo', 'STATUS_OK', 'succeeded')).toBe(2)
    expect(attempts('flaky', 'STATUS_TEMPORARY_ERROR', 'retry')).toBe(1)
    expect(attempts('flaky', 'STATUS_OK', 'succeeded')).toBe(1)
    expect(attempts('permanent', 'STATUS_PERMANENT_ERROR', 'failed')).toBe(1)
    expect(sample(text, 'dispatch_attempt_duration_seconds_count', { function: 'flaky' })).toBe(2)
    expect(sample(text, 'dispatch_attempt_duration_seconds_sum', { function: 'echo' })).toBeGreaterThan(0)
    expect(sample(text, 'dispatch_attempt_duration_seconds_bucket', { function: 'echo', le: '+Inf' })).toBe(2)
    // Only first attempts: the retry of `flaky` is not a dispatch → start delay.
    expect(sample(text, 'dispatch_call_start_delay_seconds_count', { function: 'flaky' })).toBe(1)
    expect(sample(text, 'dispatch_call_start_delay_seconds_count', { function: 'echo' })).toBe(2)

    expect(sample(text, 'dispatch_calls', { function: 'echo', state: 'succeeded' })).toBe(2)
    expect(sample(text, 'dispatch_calls', { function: 'permanent', state: 'failed' })).toBe(1)
    expect(sample(text, 'dispatch_calls', { function: 'echo', state: 'pending' })).toBeUndefined()
    expect(sample(text, 'dispatch_oldest_due_call_age_seconds')).toBe(0)

    expect(sample(text, 'dispatch_store_seconds_count', { operation: 'insertCalls' })).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'dispatch_store_seconds_count', { operation: 'completeAttempts' })).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'dispatch_store_seconds_count', { operation: 'claimQueues' })).toBeGreaterThanOrEqual(1)

    expect(sample(text, 'dispatch_endpoint_concurrency_limit', { endpoint })).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'dispatch_endpoint_in_flight', { endpoint })).toBe(0)
    expect(sample(text, 'dispatch_attempts_in_flight')).toBe(0)
    expect(sample(text, 'dispatch_unfinished_calls')).toBe(0)
    expect(sample(text, 'dispatch_queued_calls')).toBe(0)
    expect(sample(text, 'dispatch_backpressure_rejections_total', { reason: 'unfinished' })).toBeUndefined()
    // Node's process metrics beside the scheduler's.
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge')
  })

  it('reports the due calls and the oldest due call of each queue', async () => {
    let release: (() => void) | undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: (() => void) | undefined
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const blocking = defineRoutes({
      block: {
        ...any,
        handler: async () => {
          started?.()
          await gate
          return 'done'
        },
      },
    })
    // One attempt at a time: while the first call runs, the second is due and waits in its queue.
    const s = await start({ routes: blocking, concurrency: 1 })
    const local = s.scheduler.inProcessEndpoint!
    const [first] = await s.dispatch([
      { endpoint: local, function: 'block', input: value([1]), fairnessKey: 'tenant-a' },
    ])
    await running
    const [second] = await s.dispatch([
      { endpoint: local, function: 'block', input: value([2]), fairnessKey: 'tenant-a' },
    ])
    const { text } = await scrape(s.scheduler.metricsUrl!, s.scheduler.apiKey)
    const queue = { endpoint: local, function: 'block', fairness_key: 'tenant-a' }
    expect(sample(text, 'dispatch_queue_due_calls', queue)).toBe(1)
    expect(sample(text, 'dispatch_queue_oldest_due_seconds', queue)).toBeGreaterThanOrEqual(0)
    expect(sample(text, 'dispatch_attempts_in_flight')).toBe(1)
    expect(sample(text, 'dispatch_calls', { function: 'block', state: 'running' })).toBe(1)
    expect(sample(text, 'dispatch_calls', { function: 'block', state: 'pending' })).toBe(1)
    release?.()
    await s.settle(first!)
    await s.settle(second!)
  })

  it('serves /metrics behind the API key', async () => {
    const missing = await scrape(t.scheduler.metricsUrl!)
    expect(missing.status).toBe(401)
    expect(missing.text).not.toContain('dispatch_')
    const wrong = await scrape(t.scheduler.metricsUrl!, 'not-the-key')
    expect(wrong.status).toBe(401)
    expect(wrong.text).not.toContain('dispatch_')
  })

  it('keeps a registry per scheduler, serves a loopback listener without the key, and can be turned off', async () => {
    const other = await start({ metrics: { port: 0 }, backPressure: { maxUnfinishedCalls: 1 } })
    const url = other.scheduler.metricsUrl!
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    // A call due in an hour is unfinished: back-pressure refuses the next dispatch.
    await other.dispatch([{ endpoint, function: 'echo', input: value(['later']), delay: '3600s' }])
    const refused = await other.post('/dispatch.sdk.v1.DispatchService/Dispatch', {
      calls: [{ endpoint, function: 'echo', input: value(['refused']) }],
    })
    expect(refused.status).toBe(429)

    const { status, text } = await scrape(url)
    expect(status).toBe(200)
    // Only this scheduler's calls: the first scheduler's echoes are not here.
    expect(sample(text, 'dispatch_calls_accepted_total', { function: 'echo' })).toBe(1)
    expect(sample(text, 'dispatch_calls_accepted_total', { function: 'flaky' })).toBeUndefined()
    expect(sample(text, 'dispatch_calls', { function: 'echo', state: 'pending' })).toBe(1)
    expect(sample(text, 'dispatch_backpressure_rejections_total', { reason: 'unfinished' })).toBe(1)
    expect(sample(text, 'dispatch_unfinished_calls')).toBe(1)
    // The listener serves nothing else; the API still has /metrics behind the key.
    expect((await fetch(url.replace(/\/metrics$/, '/dispatch'))).status).toBe(404)
    expect((await scrape(`${other.scheduler.url}/metrics`, other.scheduler.apiKey)).status).toBe(200)
    // The first scheduler's figures did not move.
    const first = await scrape(t.scheduler.metricsUrl!, t.scheduler.apiKey)
    expect(sample(first.text, 'dispatch_calls_accepted_total', { function: 'echo' })).toBe(2)

    await expect(start({ metrics: { port: 70_000 } })).rejects.toMatchObject({
      code: 'DSP3005',
      message: expect.stringContaining('metrics.port is 70000'),
    })
    const off = await start({ metrics: false })
    expect(off.scheduler.metricsUrl).toBeUndefined()
    expect((await scrape(`${off.scheduler.url}/metrics`, off.scheduler.apiKey)).status).toBe(404)
  })
})

describe('scheduler metrics on PostgreSQL', () => {
  const schema = `dispatch_test_metrics_${randomBytes(4).toString('hex')}`
  let folder = ''
  let t: TestScheduler | undefined
  afterAll(async () => {
    await t?.scheduler.close()
    await removeFolder(folder)
    const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
    await store.dropSchema()
    await store.close()
  })

  it("counts the calls by state from PostgreSQL's counts and times its transactions", async () => {
    folder = await tempFolder()
    t = await startTestScheduler(join(folder, 'dispatch.db'), {
      routes,
      postgres: { url: POSTGRES_TEST_URL, schema, poolSize: 4 },
    })
    const endpoint = t.scheduler.inProcessEndpoint!
    const ids = await t.dispatch([
      { endpoint, function: 'echo', input: value(['pg']) },
      { endpoint, function: 'permanent', input: value([null]) },
    ])
    for (const id of ids) await t.settle(id)
    const { status, text } = await scrape(t.scheduler.metricsUrl!, t.scheduler.apiKey)
    expect(status).toBe(200)
    expect(sample(text, 'dispatch_calls', { function: 'echo', state: 'succeeded' })).toBe(1)
    expect(sample(text, 'dispatch_calls', { function: 'permanent', state: 'failed' })).toBe(1)
    expect(
      sample(text, 'dispatch_attempts_total', { function: 'echo', status: 'STATUS_OK', outcome: 'succeeded' }),
    ).toBe(1)
    expect(sample(text, 'dispatch_store_seconds_count', { operation: 'insertCalls' })).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'dispatch_store_seconds_count', { operation: 'completeAttempts' })).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'dispatch_endpoint_in_flight', { endpoint })).toBe(0)
  })
})
