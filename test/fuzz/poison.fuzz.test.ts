import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallInfo } from '../../schemas/callService.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from '../scheduler/helpers.js'
import { startScriptedEndpoint } from '../scheduler/scriptedEndpoint.js'
import { params, recordFigures } from './fuzzConfig.js'

// Poison values (Durations and timestamps out of range or with nanoseconds, NUL characters, text too
// wide to index, numbers out of range) in every field of a Dispatch, of the CallService's requests
// and of the RunResponses an endpoint answers, while ordinary calls flow on the same scheduler: never
// a 5xx, every accepted poison call reads and ends (or waits, suspended, as it asked), and every
// ordinary call completes.

const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'
const SERVICE = '/dispatch.scheduler.v1.CallService'
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])
const figures = { badInputs: 0, serverErrors: 0, refused: 0, poisonCalls: 0, ordinaryCalls: 0, stuck: 0 }

let folder: string
let t: TestScheduler
let endpointApp: FastifyInstance
let endpoint: string
/** Ordinary calls dispatched alongside the poison, all checked at the end. */
const ordinaryIds: string[] = []

beforeAll(async () => {
  folder = await tempFolder('dispatch-fuzz-poison-')
  t = await startTestScheduler(`${folder}/fuzz.db`)
  const started = await startScriptedEndpoint()
  endpointApp = started.app
  endpoint = started.url
})
afterAll(async () => {
  await t?.scheduler.close()
  await endpointApp?.close()
  await removeFolder(folder)
  recordFigures({
    suite: 'fuzz: poison values',
    'bad inputs tried': figures.badInputs,
    'crashes or 5xx seen': figures.serverErrors,
    'requests answered 4xx': figures.refused,
    'poison calls accepted, all ended': figures.poisonCalls,
    'ordinary calls alongside, all completed': figures.ordinaryCalls,
    'calls stuck': figures.stuck,
  })
})

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const answer = await t.post(path, body)
  if (answer.status >= 500) figures.serverErrors++
  else if (answer.status >= 400) figures.refused++
  expect(answer.status, `${path}: ${JSON.stringify(answer.body)?.slice(0, 300)}`).toBeLessThan(500)
  if (answer.status !== 200) expect(typeof answer.body.message).toBe('string')
  return answer
}

async function dispatchOrdinary(n: number): Promise<void> {
  const calls = Array.from({ length: n }, (_, i) => ({ endpoint, function: 'ordinary', input: value(i) }))
  const answer = await post(DISPATCH, { calls })
  expect(answer.status).toBe(200)
  ordinaryIds.push(...answer.body.dispatchIds)
}

/** Waits until `done` holds for every call, reading each with Get (which must never fail). */
async function until(ids: readonly string[], done: (call: CallInfo) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  const calls = new Map<string, CallInfo>()
  for (;;) {
    for (const id of ids) {
      const answer = await post(`${SERVICE}/Get`, { dispatchId: id })
      expect(answer.status).toBe(200)
      calls.set(id, answer.body.call)
    }
    const left = ids.filter((id) => !done(calls.get(id)!))
    if (left.length === 0) return calls
    if (Date.now() > deadline) {
      figures.stuck += left.length
      throw new Error(`stuck: ${left.map((id) => JSON.stringify(calls.get(id))).join('\n')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// Poison values, mixed with valid ones so that some calls are accepted.
const nul = fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`)
const wide = fc.integer({ min: 700, max: 2000 }).map((n) => '\u4e01'.repeat(n))
const text = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), nul, wide)
const duration = fc.oneof(
  fc.constantFrom(
    '9000000000000s',
    `${'9'.repeat(40)}s`,
    '315360000s',
    '315360000.001s',
    '-1s',
    '-0.0000001s',
    '0s',
    '0.0004s',
    '1.0001s',
    '0.000000001s',
    '3600.123456789s',
  ),
  fc.bigInt({ min: -(10n ** 16n), max: 10n ** 16n }).map((n) => `${n}s`),
  fc
    .tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 999_999_999 }))
    .map(([s, ns]) => `${s}.${String(ns).padStart(9, '0')}s`),
)
const timestamp = fc.oneof(
  fc.constantFrom(
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00+01:00',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59-01:00',
    '1970-01-01T00:00:00Z',
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
)
const count = fc.constantFrom<unknown>(0, 1, 2, -1, 1.5, 1000, 1001, 10_001, 1e9, 1e300, 2 ** 53, '3', null)
const correlationId = fc.constantFrom<unknown>(
  '0',
  '7',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999',
  1e300,
  2 ** 53 + 2,
  -1,
)
const url = fc.oneof(
  fc.constant('SCRIPTED'),
  fc.constant('http://127.0.0.1:9'),
  nul.map((s) => `http://127.0.0.1:9/${s}`),
  wide.map((s) => `http://127.0.0.1:9/${s}`),
)
const withEndpoint = (u: unknown) => (u === 'SCRIPTED' ? endpoint : u)

/** Some fields of a Dispatch call set to poison values (the others absent). */
const dispatchFields = fc
  .record(
    {
      delay: duration,
      expiration: duration,
      notBefore: timestamp,
      maxAttempts: count,
      correlationId,
      endpoint: url,
      idempotencyKey: text,
      fairnessKey: text,
      version: text,
    },
    { requiredKeys: [] },
  )
  .filter((fields) => Object.keys(fields).length > 0)

describe('fuzz: poison values', () => {
  it('Dispatch: refused with a 4xx, or stored, readable and cancellable; ordinary calls complete alongside', async () => {
    await fc.assert(
      fc.asyncProperty(dispatchFields, async (fields) => {
        figures.badInputs++
        await dispatchOrdinary(2)
        const call = { function: 'poison', ...fields, endpoint: withEndpoint(fields.endpoint ?? 'SCRIPTED') }
        const answer = await post(DISPATCH, { calls: [{ endpoint, function: 'ordinary' }, call] })
        if (answer.status !== 200) {
          expect(answer.body.code).toBe('invalid_argument')
          return
        }
        ordinaryIds.push(answer.body.dispatchIds[0])
        const id = answer.body.dispatchIds[1] as string
        figures.poisonCalls++
        // A call may wait for years (delay, notBefore): it reads, lists and cancels instead.
        const got = await post(`${SERVICE}/Get`, { dispatchId: id })
        expect(got.status).toBe(200)
        expect((await post(`${SERVICE}/List`, { function: 'poison', limit: 5 })).status).toBe(200)
        const cancelled = await post(`${SERVICE}/Cancel`, { dispatchId: id })
        expect([200, 400]).toContain(cancelled.status)
        await until([id], (c) => TERMINAL.has(c.state))
      }),
      params(60),
    )
  })

  it('CallService: never a 5xx, whatever the Durations, ids and filters', async () => {
    await dispatchOrdinary(1)
    const known = ordinaryIds[ordinaryIds.length - 1]!
    // Ended before the property runs: a Wait for it answers at once, whatever its valid timeout.
    await until([known], (c) => TERMINAL.has(c.state))
    const id = fc.oneof(fc.constant(known), nul, wide, fc.constant(`${known}\u0000`))
    const request = fc.oneof(
      fc.record({ method: fc.constant('Wait'), body: fc.record({ dispatchId: id, timeout: duration }) }),
      fc.record({ method: fc.constantFrom('Get', 'Cancel', 'Redrive'), body: fc.record({ dispatchId: id }) }),
      fc.record({
        method: fc.constant('List'),
        body: fc.record(
          { function: text, fairnessKey: text, parentDispatchId: text, limit: count, cursor: text },
          { requiredKeys: [] },
        ),
      }),
    )
    await fc.assert(
      fc.asyncProperty(request, async ({ method, body }) => {
        figures.badInputs++
        const answer = await post(`${SERVICE}/${method}`, body)
        const sent = JSON.stringify(body)
        if (sent.includes('\\u0000')) expect(answer.status, sent).toBe(400)
      }),
      params(80),
    )
  })

  it('RunResponse: a poison answer fails its call alone (or is refused as a child); ordinary calls complete', async () => {
    const child = fc.record(
      {
        function: fc.constantFrom('child', 'ok_child'),
        endpoint: url,
        expiration: duration,
        version: text,
        correlationId,
      },
      { requiredKeys: ['function'] },
    )
    const answer = fc.oneof(
      fc.record({
        status: fc.constantFrom('STATUS_OK', 'STATUS_PERMANENT_ERROR'),
        exit: fc.record({
          result: fc.constant({}),
          tailCall: fc.record(
            { function: fc.constant('next'), endpoint: url, expiration: duration, version: text },
            { requiredKeys: ['function'] },
          ),
        }),
      }),
      fc.record({
        status: fc.constant('STATUS_OK'),
        poll: fc.record(
          {
            coroutineState: fc.constant('AA=='),
            maxWait: duration,
            minResults: count,
            maxResults: count,
            calls: fc.array(child, { maxLength: 3 }),
          },
          { requiredKeys: ['coroutineState'] },
        ),
      }),
    )
    const endpoints = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(endpoints)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v).map(([k, x]) => [k, k === 'endpoint' ? withEndpoint(x) : endpoints(x)]),
            )
          : v
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 3 }), async (answers) => {
        figures.badInputs += answers.length
        const calls = answers.flatMap((a) => [
          { endpoint, function: 'poisoned', input: value({ answer: endpoints(a) }) },
          { endpoint, function: 'ordinary' },
        ])
        const sent = await post(DISPATCH, { calls })
        expect(sent.status).toBe(200)
        const ids = sent.body.dispatchIds as string[]
        const poisoned = ids.filter((_, i) => i % 2 === 0)
        ordinaryIds.push(...ids.filter((_, i) => i % 2 === 1))
        figures.poisonCalls += poisoned.length
        // A Poll may ask to wait (minResults it cannot reach, a long maxWait): suspended is an answer too.
        const ended = await until(poisoned, (c) => TERMINAL.has(c.state) || c.state === 'suspended')
        for (const call of ended.values()) {
          if (call.state === 'failed') expect(call.error?.message, JSON.stringify(call)).toBeTruthy()
          if (call.state === 'suspended') {
            const cancelled = await post(`${SERVICE}/Cancel`, { dispatchId: call.dispatchId })
            // A suspended call that is due (its Poll ended at once) may be resumed and end before the
            // cancel reaches it: refused then, as an ended call, never a server error.
            if (cancelled.status !== 200) {
              expect(cancelled.status).toBe(400)
              expect(cancelled.body.message).toMatch(/it is (succeeded|failed|cancelled)$/)
            }
          }
        }
      }),
      params(40),
    )
  })

  it('completed every ordinary call that flowed alongside', async () => {
    const calls = await until(ordinaryIds, (c) => TERMINAL.has(c.state), 60_000)
    for (const call of calls.values()) expect(call.state).toBe('succeeded')
    figures.ordinaryCalls = calls.size
    expect(figures.serverErrors).toBe(0)
  })
})
