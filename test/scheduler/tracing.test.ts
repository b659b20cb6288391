import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { context, type Span, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { all, createClient, defineRoutes, TemporaryError, tupleSchema } from '../../runtime/index.js'
import { openPostgresStore } from '../../scheduler/index.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

// W3C trace context across calls, with the real OpenTelemetry SDK (scheduler and endpoint in this
// process): a call dispatched inside a span continues its trace — dispatch (client) → attempt
// (scheduler) → run (endpoint) — and a coroutine's children are children of the run span of the turn
// that made them, across retries and resumed turns.
const failedOnce = new Set<number>()
const routes = defineRoutes({
  child: {
    source: 'test',
    input: tupleSchema([Type.Integer()]),
    output: Type.Integer(),
    handler: (n: number) => {
      if (!failedOnce.has(n)) {
        failedOnce.add(n)
        throw new TemporaryError(`child ${n} fails its first attempt`)
      }
      return n * 10
    },
  },
  parent: {
    source: 'test',
    input: tupleSchema([Type.Array(Type.Integer())]),
    output: Type.Integer(),
    handler: async (ns: number[]) => (await all(ns.map((n) => client().child.call(n)))).reduce((a, b) => a + b, 0),
  },
})
type Functions = {
  child: { args: [n: number]; output: number }
  parent: { args: [ns: number[]]; output: number }
}
let functions: ReturnType<typeof createClient<Functions>> | undefined
const client = () => functions!

const parentOf = (span: ReadableSpan): string | undefined =>
  (span as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId ??
  (span as { parentSpanId?: string }).parentSpanId

const exporter = new InMemorySpanExporter()
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
})
afterAll(() => {
  trace.disable()
  context.disable()
})

// The trace context is stored with each call: both stores keep it.
describe.each(['SQLite', 'PostgreSQL'])('trace context across calls (OpenTelemetry) on %s', (storeName) => {
  const schema = `dispatch_test_tracing_${randomBytes(4).toString('hex')}`
  let folder = ''
  let t: TestScheduler | undefined

  beforeAll(async () => {
    exporter.reset()
    failedOnce.clear()
    folder = await tempFolder()
    t = await startTestScheduler(join(folder, 'dispatch.db'), {
      routes,
      ...(storeName === 'PostgreSQL' ? { postgres: { url: POSTGRES_TEST_URL, schema, poolSize: 4 } } : {}),
    })
    functions = createClient<Functions>(
      { child: 1, parent: 1 },
      { endpoint: t.scheduler.inProcessEndpoint!, apiUrl: t.scheduler.url, apiKey: t.scheduler.apiKey },
    )
  })
  afterAll(async () => {
    await t?.scheduler.close()
    await removeFolder(folder)
    if (storeName === 'PostgreSQL') {
      const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await store.dropSchema()
      await store.close()
    }
  })

  it('makes one trace of a coroutine tree with retries: dispatch span → run spans → children', async () => {
    const tracer = trace.getTracer('test')
    let root: Span | undefined
    const id = await tracer.startActiveSpan('request', async (span) => {
      root = span
      try {
        return await client().parent([1, 2])
      } finally {
        span.end()
      }
    })
    const call = await t!.settle(id)
    expect(call).toMatchObject({ state: 'succeeded' })
    const { traceId, spanId: rootId } = root!.spanContext()

    const spans = exporter.getFinishedSpans()
    const runs = (fn: string) => spans.filter((s) => s.name === `run ${fn}`)
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
    const parentSpan = (span: ReadableSpan) => byId.get(parentOf(span) ?? '')
    // The client's Dispatch: a PRODUCER span, child of the application's span.
    const dispatch = spans.find((s) => s.name === 'dispatch parent')!
    expect(parentOf(dispatch)).toBe(rootId)
    expect(dispatch.spanContext().traceId).toBe(traceId)
    expect(dispatch.attributes).toMatchObject({ 'messaging.system': 'dispatch', 'dispatch.id': id })
    const parentRuns = runs('parent')
    const childRuns = runs('child')
    // The parent ran at least twice (the turn that made the calls, then a resumed turn); each child
    // twice (a failed attempt, then a retry).
    expect(parentRuns.length).toBeGreaterThanOrEqual(2)
    expect(childRuns).toHaveLength(4)
    for (const span of [...parentRuns, ...childRuns]) expect(span.spanContext().traceId).toBe(traceId)
    // Every run (and resumed turn) of the dispatched call is the child of its attempt's span, which is
    // the child of the Dispatch span.
    for (const span of parentRuns) {
      const attempt = parentSpan(span)!
      expect(attempt.name).toBe('attempt parent')
      expect(attempt.attributes['dispatch.id']).toBe(id)
      expect(parentOf(attempt)).toBe(dispatch.spanContext().spanId)
    }
    expect(parentRuns[0]!.attributes).toMatchObject({ 'dispatch.function': 'parent', 'dispatch.id': id })
    // The children (both attempts of each) are children of the turn that called them.
    const callingTurn = parentRuns.find((s) => s.attributes['dispatch.resumed'] === false)!
    const childAttempts = childRuns.map((span) => parentSpan(span)!)
    for (const [i, attempt] of childAttempts.entries()) {
      expect(attempt.name).toBe('attempt child')
      expect(parentOf(attempt)).toBe(callingTurn.spanContext().spanId)
      expect(childRuns[i]!.attributes['dispatch.parent_id']).toBe(id)
    }
    // The scheduler's attempt spans say which attempt it was and what followed.
    expect(
      childAttempts.map((a) => `${a.attributes['dispatch.attempt']} ${a.attributes['dispatch.outcome']}`).sort(),
    ).toEqual(['1 retry', '1 retry', '2 succeeded', '2 succeeded'])
    const statuses = childRuns.map((s) => s.attributes['dispatch.status']).sort()
    expect(statuses).toEqual(['STATUS_OK', 'STATUS_OK', 'STATUS_TEMPORARY_ERROR', 'STATUS_TEMPORARY_ERROR'])
    const failed = childRuns.filter((s) => s.attributes['dispatch.status'] === 'STATUS_TEMPORARY_ERROR')
    for (const span of failed) expect(span.status.code).toBe(2) // SpanStatusCode.ERROR
  })

  it('starts a trace at the Dispatch of a call made outside any span', async () => {
    exporter.reset()
    const id = await client().child(7)
    await t!.settle(id)
    const spans = exporter.getFinishedSpans()
    const dispatch = spans.find((s) => s.name === 'dispatch child')!
    expect(parentOf(dispatch)).toBeUndefined()
    const attempts = spans.filter((s) => s.name === 'attempt child')
    expect(attempts).toHaveLength(2)
    for (const span of attempts) {
      expect(span.spanContext().traceId).toBe(dispatch.spanContext().traceId)
      expect(parentOf(span)).toBe(dispatch.spanContext().spanId)
    }
    expect(spans.filter((s) => s.name === 'run child')).toHaveLength(2)
  })
})
