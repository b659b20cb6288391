import { DispatchError, defineRoutes, PermanentError, tupleSchema } from 'dispatch-functions'
import type { RegistryMetric } from 'dispatch-functions/fetch'
import { Counter, Registry } from 'prom-client'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADAPTERS, type Adapter, type RunningEndpoint } from './helpers/adapters.js'
import { RUN, runRequest } from './helpers/endpointApp.js'
import { postRaw, signedFor, until } from './helpers/realEndpoint.js'
import { vectors } from './helpers/vectors.js'

// The endpoint's metrics (the `metrics` option), counted in a real prom-client Registry by every
// adapter, each a real server on 127.0.0.1, and read back as Prometheus' text exposition.

const KEY = vectors.key.public_pem

let release: (() => void) | undefined
const routes = defineRoutes({
  add: {
    input: tupleSchema([Type.Number(), Type.Number()]),
    output: Type.Number(),
    handler: (a: number, b: number) => a + b,
    source: 'test/add.ts:1',
  },
  gated: {
    input: tupleSchema([]),
    output: undefined,
    handler: () =>
      new Promise<void>((resolve) => {
        release = resolve
      }),
    source: 'test/gated.ts:1',
  },
  badOutput: {
    input: tupleSchema([]),
    output: Type.Object({ ok: Type.Boolean() }),
    handler: () => ({ ok: 'yes' }),
    source: 'test/badOutput.ts:1',
  },
  fail: {
    input: tupleSchema([]),
    output: undefined,
    handler: () => {
      throw new PermanentError('boom')
    },
    source: 'test/fail.ts:1',
  },
})

/** The value of one sample (`name{labels}` exactly as rendered) in an exposition, undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}

describe.each(ADAPTERS)('$name', (adapter: Adapter) => {
  const registry = new Registry()
  let endpoint: RunningEndpoint
  const post = (body: string, headers = signedFor(endpoint.url, body)) => postRaw(endpoint.url + RUN, headers, body)
  const call = (fn: string, args: unknown[]) => post(JSON.stringify(runRequest(fn, args)))

  beforeAll(async () => {
    endpoint = await adapter.start({ routes, verificationKey: KEY, metrics: registry })
  })
  afterAll(async () => {
    await endpoint?.close()
  })

  it('counts runs by function and status, and their duration', async () => {
    expect((await call('add', [20, 22])).status).toBe(200)
    expect((await call('add', [1, 2])).status).toBe(200)
    expect((await call('fail', [])).status).toBe(200)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE dispatch_endpoint_runs_total counter')
    expect(text).toContain('# TYPE dispatch_endpoint_run_duration_seconds histogram')
    expect(sample(text, 'dispatch_endpoint_runs_total{function="add",status="STATUS_OK"}')).toBe(2)
    expect(sample(text, 'dispatch_endpoint_runs_total{function="fail",status="STATUS_PERMANENT_ERROR"}')).toBe(1)
    expect(sample(text, 'dispatch_endpoint_run_duration_seconds_count{function="add"}')).toBe(2)
    expect(sample(text, 'dispatch_endpoint_run_duration_seconds_bucket{function="add",le="+Inf"}')).toBe(2)
    expect(sample(text, 'dispatch_endpoint_run_duration_seconds_sum{function="add"}')).toBeGreaterThan(0)
    expect(sample(text, 'dispatch_endpoint_runs_in_flight{function="add"}')).toBe(0)
  })

  it('counts runs in flight while they run', async () => {
    release = undefined
    const answer = call('gated', [])
    await until(() => release !== undefined)
    expect(sample(await registry.metrics(), 'dispatch_endpoint_runs_in_flight{function="gated"}')).toBe(1)
    // A registry reset during the run zeroes the counters but not what is in progress.
    registry.resetMetrics()
    expect(sample(await registry.metrics(), 'dispatch_endpoint_runs_in_flight{function="gated"}')).toBe(1)
    release!()
    expect((await answer).status).toBe(200)
    const text = await registry.metrics()
    expect(sample(text, 'dispatch_endpoint_runs_in_flight{function="gated"}')).toBe(0)
    expect(sample(text, 'dispatch_endpoint_runs_total{function="gated",status="STATUS_OK"}')).toBe(1)
  })

  it('counts validation failures by function and kind', async () => {
    await call('add', ['x', 1])
    await call('badOutput', [])
    await call('nowhere', [])
    await post('{"not":', signedFor(endpoint.url, '{"not":'))
    const text = await registry.metrics()
    const failures = (labels: string) => sample(text, `dispatch_endpoint_validation_failures_total{${labels}}`)
    expect(failures('function="add",kind="input"')).toBe(1)
    expect(failures('function="badOutput",kind="output"')).toBe(1)
    expect(failures('function="",kind="unknown_function"')).toBe(1)
    expect(failures('function="",kind="request"')).toBe(1)
    // The function ran or was refused its input: both are runs with their status; the others are not runs.
    expect(sample(text, 'dispatch_endpoint_runs_total{function="add",status="STATUS_INVALID_ARGUMENT"}')).toBe(1)
    expect(sample(text, 'dispatch_endpoint_runs_total{function="badOutput",status="STATUS_INVALID_RESPONSE"}')).toBe(1)
    expect(text).not.toContain('function="nowhere"')
  })

  it('counts signature refusals by reason', async () => {
    const body = JSON.stringify(runRequest('add', [3, 4]))
    const headers = signedFor(endpoint.url, body)
    expect((await post(body, headers)).status).toBe(200)
    expect((await post(body, headers)).status).toBe(401) // the same signature again: a replay
    expect((await post(body, { 'content-type': 'application/json' })).status).toBe(401)
    expect((await post(body, signedFor('http://elsewhere.test:9000', body))).status).toBe(403)
    const stale = { ...headers, 'signature-input': headers['signature-input']!.replace(/created=\d+/, 'created=1') }
    expect((await post(body, stale)).status).toBe(403)
    const text = await registry.metrics()
    const refusals = (reason: string) => sample(text, `dispatch_endpoint_signature_refusals_total{reason="${reason}"}`)
    expect(refusals('replayed')).toBe(1)
    expect(refusals('unsigned')).toBe(1)
    expect(refusals('bad_signature')).toBe(1)
    expect(refusals('invalid')).toBe(1)
  })
})

describe('the metrics option', () => {
  const [fastify, node, , , fetch] = ADAPTERS as [Adapter, Adapter, Adapter, Adapter, Adapter]

  it('adds the endpoints given one registry into the same series', async () => {
    const registry = new Registry()
    const endpoints = await Promise.all(
      [fastify, node, fetch].map((adapter) => adapter.start({ routes, verificationKey: false, metrics: registry })),
    )
    try {
      for (const endpoint of endpoints) {
        const body = JSON.stringify(runRequest('add', [1, 1]))
        expect((await postRaw(endpoint.url + RUN, { 'content-type': 'application/json' }, body)).status).toBe(200)
      }
      const text = await registry.metrics()
      expect(sample(text, 'dispatch_endpoint_runs_total{function="add",status="STATUS_OK"}')).toBe(3)
    } finally {
      await Promise.all(endpoints.map((endpoint) => endpoint.close()))
    }
  })

  it('sits beside the application’s own metrics, and counts nothing without it', async () => {
    const registry = new Registry()
    const mine = new Counter({ name: 'app_orders_total', help: 'orders', registers: [registry] })
    mine.inc()
    const counted = await node.start({ routes, verificationKey: false, metrics: registry })
    const uncounted = await node.start({ routes, verificationKey: false })
    try {
      const body = JSON.stringify(runRequest('add', [1, 1]))
      await postRaw(uncounted.url + RUN, { 'content-type': 'application/json' }, body)
      const text = await registry.metrics()
      expect(sample(text, 'app_orders_total')).toBe(1)
      expect(text).toContain('# TYPE dispatch_endpoint_runs_total counter')
      expect(sample(text, 'dispatch_endpoint_runs_total{function="add",status="STATUS_OK"}')).toBeUndefined()
    } finally {
      await Promise.all([counted.close(), uncounted.close()])
    }
  })

  it('registers in any registry with registerMetric, not only prom-client', async () => {
    const held: RegistryMetric[] = []
    const registry = { registerMetric: (metric: RegistryMetric) => void held.push(metric) }
    const endpoint = await fetch.start({ routes, verificationKey: false, metrics: registry })
    try {
      const body = JSON.stringify(runRequest('add', [2, 3]))
      expect((await postRaw(endpoint.url + RUN, { 'content-type': 'application/json' }, body)).status).toBe(200)
      const runs = held.find((metric) => metric.name === 'dispatch_endpoint_runs_total')!.get()
      expect(runs.type).toBe('counter')
      expect(runs.values).toEqual([{ labels: { function: 'add', status: 'STATUS_OK' }, value: 1 }])
      expect(held.map((metric) => metric.name).sort()).toEqual([
        'dispatch_endpoint_run_duration_seconds',
        'dispatch_endpoint_runs_in_flight',
        'dispatch_endpoint_runs_total',
        'dispatch_endpoint_signature_refusals_total',
        'dispatch_endpoint_validation_failures_total',
      ])
    } finally {
      await endpoint.close()
    }
  })

  it.each(ADAPTERS)('refuses what is not a registry, or a registry holding the names ($name)', async (adapter) => {
    const notRegistry = await adapter.creationError({ routes, verificationKey: false, metrics: {} as never })
    expect(notRegistry).toBeInstanceOf(DispatchError)
    expect(notRegistry.code).toBe('DSP2205')
    expect(notRegistry.message).toMatch(/metrics must be a Prometheus registry/)
    const taken = new Registry()
    new Counter({ name: 'dispatch_endpoint_runs_total', help: 'mine', registers: [taken] })
    const clash = await adapter.creationError({ routes, verificationKey: false, metrics: taken })
    expect(clash.code).toBe('DSP2205')
    expect(clash.message).toMatch(/refused the endpoint's metrics: .*dispatch_endpoint_runs_total/)
    // A clash on the last name leaves none of the others behind: the same registry, its name freed,
    // then takes all of them.
    const lastTaken = new Registry()
    new Counter({ name: 'dispatch_endpoint_signature_refusals_total', help: 'mine', registers: [lastTaken] })
    const lastClash = await adapter.creationError({ routes, verificationKey: false, metrics: lastTaken })
    expect(lastClash.message).toMatch(/dispatch_endpoint_signature_refusals_total/)
    expect(lastTaken.getMetricsAsArray().map((metric) => metric.name)).toEqual([
      'dispatch_endpoint_signature_refusals_total',
    ])
  })
})
