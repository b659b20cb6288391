import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder } from '../scheduler/helpers.js'
import { params, recordFigures } from './fuzzConfig.js'

// The Dispatch API under bad input: only 200 (a valid batch, every call stored) or a 4xx with a
// Connect JSON error, and nothing stored from a refused batch (counted through the store's stats).

const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'
const BODY_LIMIT = 1024 * 1024
const figures = { inputs: 0, serverErrors: 0, storedFromRefused: 0, accepted: 0 }

let folder: string
let t: TestScheduler

beforeAll(async () => {
  folder = await tempFolder('dispatch-fuzz-api-')
  // Valid calls are delayed by an hour: the fuzz checks acceptance, not delivery.
  t = await startTestScheduler(`${folder}/fuzz.db`, { bodyLimit: BODY_LIMIT })
})
afterAll(async () => {
  await t?.scheduler.close()
  await removeFolder(folder)
  recordFigures({
    suite: 'fuzz: Dispatch API',
    'bad inputs tried': figures.inputs,
    'crashes or 5xx seen': figures.serverErrors,
    'calls stored from refused batches': figures.storedFromRefused,
    'valid calls accepted': figures.accepted,
  })
})

async function stored(): Promise<number> {
  return (await t.scheduler.stats()).reduce((sum, row) => sum + row.count, 0)
}

const VALUE = 'type.googleapis.com/google.protobuf.Value'
const validCall = fc.record({
  endpoint: fc.constantFrom('http://127.0.0.1:9', 'https://example.test/prefix', 'http://[::1]:8000'),
  function: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.]{0,20}$/),
  input: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ '@type': VALUE, value })),
  delay: fc.constant('3600s'),
})

// Deep nesting is spliced into the request text, so neither the test nor fast-check's reporter recurses.
const deepMarker = (depth: number) => `__DEEP_${depth}__`
const spliceDeep = (text: string) =>
  text.replace(/"__DEEP_(\d+)__"/g, (_m, d: string) => `${'['.repeat(Number(d))}${']'.repeat(Number(d))}`)

/** One way to spoil a call (or none). */
const spoil = fc.oneof(
  { weight: 4, arbitrary: fc.constant((c: Record<string, unknown>) => c) },
  fc.string().map((name) => (c: Record<string, unknown>) => ({ ...c, function: name })),
  fc
    .oneof(
      fc.string(),
      fc.constantFrom(
        'ftp://x',
        'http://',
        'javascript:alert(1)',
        'http://a b',
        'file:///etc/passwd',
        'https://' + 'a'.repeat(3000),
      ),
    )
    .map((endpoint) => (c: Record<string, unknown>) => ({ ...c, endpoint })),
  fc.constant((c: Record<string, unknown>) => {
    const { endpoint: _e, ...rest } = c
    return rest
  }),
  fc
    .integer({ min: 50, max: 200_000 })
    .map((depth) => (c: Record<string, unknown>) => ({ ...c, input: { '@type': VALUE, value: deepMarker(depth) } })),
  fc.jsonValue().map((v) => (c: Record<string, unknown>) => ({ ...c, input: v })),
  fc
    .record(
      {
        maxAttempts: fc.constantFrom(0, -1, 1.5, '3', 1e9, null),
        delay: fc.constantFrom('-1s', 'abc', '1', '1e400s', '', 5),
        notBefore: fc.constantFrom('yesterday', '2026-13-45T00:00:00Z', '', 0),
        expiration: fc.constantFrom('0s', '-5s', 'x'),
        idempotencyKey: fc.constantFrom('', 'k'.repeat(300), 7),
        fairnessKey: fc.constantFrom('', 'f'.repeat(300), {}),
        correlationId: fc.constantFrom('-1', 'abc', 1.5, '99999999999999999999999'),
      },
      { requiredKeys: [] },
    )
    .map((bad) => (c: Record<string, unknown>) => ({ ...c, ...bad })),
)

const batch = fc.array(
  fc.tuple(validCall, spoil).map(([c, s]) => s(c as Record<string, unknown>)),
  { minLength: 0, maxLength: 6 },
)

type Body = { kind: 'batch'; calls: unknown[] } | { kind: 'raw'; text: string }
const requestBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: batch.map((calls) => ({ kind: 'batch' as const, calls })) },
  fc
    .oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.constantFrom(
        '{"calls":null}',
        '{"__proto__":{"calls":[]},"calls":"x"}',
        '{"calls":[{"__proto__":{"endpoint":"http://x"},"function":"f"}]}',
        `{"calls":${'['.repeat(5000)}${']'.repeat(5000)}}`,
        `{"calls":[{"endpoint":"http://127.0.0.1:9","function":"f","input":{"@type":"${VALUE}","value":"${'x'.repeat(BODY_LIMIT)}"}}]}`,
      ),
    )
    .map((text) => ({ kind: 'raw' as const, text })),
)

const key = fc.oneof(
  { weight: 6, arbitrary: fc.constant<string | null>('test-api-key') },
  fc.constantFrom<string | null>(null, '', 'test-api-keyx', 'TEST-API-KEY', 'test-api-ke', ' test-api-key'),
  fc.string().map((s) => s as string | null),
)

describe('fuzz: the Dispatch API', () => {
  it('answers 200 with every call stored, or a 4xx Connect error with nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        requestBody,
        key,
        fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8'),
        async (b, k, contentType) => {
          figures.inputs++
          const before = await stored()
          const text = spliceDeep(b.kind === 'batch' ? JSON.stringify({ calls: b.calls }) : b.text)
          let headers: Record<string, string> = { 'content-type': contentType }
          if (k !== null) {
            try {
              headers = {
                ...headers,
                authorization: new Headers({ authorization: `Bearer ${k}` }).get('authorization')!,
              }
            } catch {
              headers = { ...headers, authorization: 'Bearer bogus' }
            }
          }
          const response = await fetch(t.scheduler.url + DISPATCH, { method: 'POST', headers, body: text })
          const answer = (await response.text()) || '{}'
          const after = await stored()
          if (response.status >= 500) figures.serverErrors++
          expect(response.status, answer.slice(0, 300)).toBeLessThan(500)
          const decoded = JSON.parse(answer) as { code?: string; message?: string; dispatchIds?: string[] }
          if (response.status === 200) {
            expect(decoded.dispatchIds).toHaveLength(
              b.kind === 'batch' ? b.calls.length : (JSON.parse(text).calls.length as number),
            )
            figures.accepted += after - before
            expect(after - before).toBe(new Set(decoded.dispatchIds).size)
          } else {
            if (after !== before) figures.storedFromRefused += after - before
            expect(response.status).toBeGreaterThanOrEqual(400)
            expect(typeof decoded.code).toBe('string')
            expect(typeof decoded.message).toBe('string')
            expect(after).toBe(before)
          }
        },
      ),
      params(250),
    )
    expect(figures.accepted).toBeGreaterThan(0)
  })

  it('answers the CallService with 200 or a 4xx Connect error, whatever the body', async () => {
    const known = (await t.calls.list({ limit: 1 })).calls[0]?.dispatchId ?? 'none'
    const methods = ['Get', 'Wait', 'List', 'Cancel', 'Redrive', 'CancelMany', 'RedriveMany', 'Stats'] as const
    const field = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(known, '', 'x'.repeat(10_000), '\u0000', '../../etc', '01m8g9', -1, 1e308),
    )
    const body = fc.oneof(
      fc.record(
        {
          dispatchId: field,
          // Wait's timeout stays short or invalid: a valid long one would be a real 5-minute long poll.
          timeout: fc.constantFrom('0s', '0.01s', '-1s', 'soon', '1e400s', 3, 'NaNs'),
          state: fc.oneof(fc.string(), fc.constantFrom('failed', 'pending')),
          function: field,
          fairnessKey: field,
          endpoint: field,
          search: field,
          createdAfter: fc.oneof(
            field,
            fc.constantFrom('2026-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '99999-01-01T00:00:00Z'),
          ),
          createdBefore: fc.oneof(
            field,
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          ),
          dryRun: fc.oneof(fc.boolean(), field),
          limit: fc.oneof(fc.integer(), fc.double(), fc.string()),
          cursor: fc.oneof(fc.string(), fc.base64String(), fc.constantFrom('', '=', 'AAAA', '..')),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    )
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), body, async (method, message) => {
        figures.inputs++
        const answer = await t.post(`/dispatch.scheduler.v1.CallService/${method}`, JSON.stringify(message) ?? 'null')
        if (answer.status >= 500) figures.serverErrors++
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500)
        if (answer.status !== 200) {
          expect(typeof answer.body.code).toBe('string')
          expect(typeof answer.body.message).toBe('string')
        }
      }),
      params(250),
    )
  })
})
