import { connect } from 'node:net'
import fc from 'fast-check'
import Fastify, { type FastifyInstance } from 'fastify'
import { parseDictionary, serializeDictionary } from 'structured-headers'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { signRequest } from '../../runtime/signing/index.js'
import { runUrl } from '../../schemas/runUrl.js'
import { HOST, RUN, testPrivateKey } from '../runtime/helpers/endpointApp.js'
import { vectors } from '../runtime/helpers/vectors.js'
import { params, recordFigures } from './fuzzConfig.js'

// The endpoint under bad input: whatever arrives, the answer is never a 5xx and the process never
// crashes; user code runs only for a request that verified and whose arguments match the schema;
// a request changed after signing (body, Signature-Input, Signature) is never accepted, nor one
// signed for another endpoint URL (forwarded by a relay or not), nor the same signed request twice.

const figures = {
  inputs: 0,
  serverErrors: 0,
  forgeriesAccepted: 0,
  handlerRunsOnRefusal: 0,
  invalidArgsRun: 0,
  replaysAccepted: 0,
}
const ran = { count: 0 }

const Item = Type.Object(
  { n: Type.Integer({ minimum: 0 }), s: Type.String({ maxLength: 8 }) },
  { additionalProperties: false },
)
const routes = defineRoutes({
  add: {
    input: tupleSchema([Type.Number(), Type.Number()]),
    output: Type.Number(),
    handler: (a: number, b: number) => {
      ran.count++
      if (typeof a !== 'number' || typeof b !== 'number') figures.invalidArgsRun++
      return a + b
    },
    source: 'test/fuzz/add.ts:1',
  },
  item: {
    input: tupleSchema([Item]),
    output: Type.Integer(),
    handler: (item: { n: number; s: string }) => {
      ran.count++
      const keys = Object.keys(item)
      if (
        !Number.isInteger(item.n) ||
        item.n < 0 ||
        typeof item.s !== 'string' ||
        keys.some((k) => k !== 'n' && k !== 's')
      )
        figures.invalidArgsRun++
      // A polluted prototype would show here.
      if (({} as Record<string, unknown>)['polluted'] !== undefined) figures.invalidArgsRun++
      return item.n
    },
    source: 'test/fuzz/item.ts:1',
  },
})

let app: FastifyInstance
let port = 0

beforeAll(async () => {
  app = Fastify()
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: vectors.key.public_pem,
    endpointUrl: `http://${HOST}`,
    bodyLimit: 64 * 1024,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
})
afterAll(async () => {
  await app.close()
  recordFigures({
    suite: 'fuzz: endpoint',
    'bad inputs tried': figures.inputs,
    'crashes or 5xx seen': figures.serverErrors,
    'forgeries accepted': figures.forgeriesAccepted,
    'replays accepted': figures.replaysAccepted,
    'user code run for a refused request': figures.handlerRunsOnRefusal + figures.invalidArgsRun,
  })
})

const VALUE = 'type.googleapis.com/google.protobuf.Value'

/** Bodies: valid RunRequests, near misses, and hostile JSON. */
const body: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc
    .tuple(fc.double(), fc.double())
    .map(([a, b]) => JSON.stringify({ function: 'add', input: { '@type': VALUE, value: [a, b] } })),
  fc
    .record({ n: fc.integer(), s: fc.string({ maxLength: 12 }) }, { requiredKeys: [] })
    .map((item) => JSON.stringify({ function: 'item', input: { '@type': VALUE, value: [item] } })),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify({ function: 'add', input: { '@type': VALUE, value: v } })),
  fc
    .record(
      { function: fc.string(), input: fc.jsonValue(), dispatchId: fc.jsonValue(), creationTime: fc.string() },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  // __proto__ keys, as a JSON parser sees them (an own key) at several depths.
  fc.constantFrom(
    '{"function":"item","input":{"@type":"' + VALUE + '","value":[{"n":1,"s":"a","__proto__":{"polluted":1}}]}}',
    '{"__proto__":{"polluted":1},"function":"add","input":{"@type":"' + VALUE + '","value":[1,2]}}',
    '{"function":"item","input":{"@type":"' + VALUE + '","value":[{"__proto__":{"n":1,"s":"a"}}]}}',
    '{"function":"__proto__","input":{"@type":"' + VALUE + '","value":[]}}',
    '{"function":"constructor"}',
    '{"function":"add","input":{"@type":"' + VALUE + '","value":{"__proto__":[1,2],"length":2}}}',
  ),
  // Deep nesting, in and around the input.
  fc
    .integer({ min: 100, max: 20_000 })
    .map((depth) => `{"function":"add","input":{"@type":"${VALUE}","value":${'['.repeat(depth)}${']'.repeat(depth)}}}`),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  // Huge and odd numbers.
  fc
    .constantFrom('1e999', '-1e999', '123456789012345678901234567890', '1e-999', '-0', '0.1e400', '9'.repeat(5000))
    .map((n) => `{"function":"add","input":{"@type":"${VALUE}","value":[${n},1]}}`),
  // Not UTF-8, not JSON.
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 200 }),
)

type Mutation =
  | { kind: 'none' }
  | { kind: 'body'; at: number; byte: number }
  | { kind: 'signatureInput'; at: number; text: string; remove: number }
  | { kind: 'signature'; at: number; char: string }
  | { kind: 'contentType'; value: string }
  | { kind: 'host'; value: string }
  | { kind: 'drop'; header: string }
  | { kind: 'hugeHeader'; size: number }
  | { kind: 'oldCreated'; seconds: number }
  | { kind: 'misaddressed'; authority: string; prefix: string; forwarded: boolean }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ kind: 'none' }),
  fc.record({ kind: fc.constant('body' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('signatureInput' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom(';', '"', '(', ')', '=', ',', ' ', '@', ';keyid="x"', ';created=1', '"@query"'),
    ),
    remove: fc.integer({ min: 0, max: 4 }),
  }),
  fc.record({
    kind: fc.constant('signature' as const),
    at: fc.nat(),
    char: fc.constantFrom('A', 'B', '+', '/', '=', ':', ' ', ','),
  }),
  fc.record({
    kind: fc.constant('contentType' as const),
    value: fc.constantFrom('text/plain', 'application/json; charset=latin1', '', 'application/jsonx'),
  }),
  fc.record({
    kind: fc.constant('host' as const),
    value: fc.constantFrom('evil.test:8000', 'APP.TEST:8000', 'app.test', ''),
  }),
  fc.record({
    kind: fc.constant('drop' as const),
    header: fc.constantFrom('signature', 'signature-input', 'content-digest', 'content-type'),
  }),
  fc.record({ kind: fc.constant('hugeHeader' as const), size: fc.integer({ min: 1000, max: 60_000 }) }),
  fc.record({ kind: fc.constant('oldCreated' as const), seconds: fc.constantFrom(-3600, 400, 3600) }),
  // Signed for another endpoint (another authority, another path prefix, or both), and sent here
  // as it is or as a relay forwards it, with the Host it was signed for.
  fc
    .record({
      kind: fc.constant('misaddressed' as const),
      authority: fc.constantFrom(HOST, 'evil.test:8000', 'app.test:8001', 'app.test', 'APP.TEST:8001'),
      prefix: fc.constantFrom('', '/b', '/dispatch', '/%2e%2e'),
      forwarded: fc.boolean(),
    })
    .filter((m) => m.authority !== HOST || m.prefix !== ''),
)

/** The semantics of a Signature-Input value: its re-serialization, or undefined if it does not parse. */
function normalized(header: string): string | undefined {
  try {
    return serializeDictionary(parseDictionary(header.trim()))
  } catch {
    return undefined
  }
}

function signatureBytes(header: string): string | undefined {
  try {
    const v = parseDictionary(header.trim()).get('dispatch')
    return v && v[0] instanceof ArrayBuffer ? Buffer.from(v[0]).toString('hex') : undefined
  } catch {
    return undefined
  }
}

interface Built {
  headers: Record<string, string>
  payload: Buffer
  /** True when the request differs from what was signed in a way that matters: it must be refused. */
  forged: boolean
}

function build(raw: string | Buffer, m: Mutation): Built {
  const payload = Buffer.isBuffer(raw) ? Buffer.from(raw) : Buffer.from(raw, 'utf8')
  const created = Math.floor(Date.now() / 1000) + (m.kind === 'oldCreated' ? -m.seconds : 0)
  const signedFor = m.kind === 'misaddressed' ? `http://${m.authority}${m.prefix}` : `http://${HOST}`
  const signed = signRequest({
    method: 'POST',
    url: `${signedFor}${RUN}`,
    headers: { 'content-type': 'application/json' },
    body: payload,
    privateKey: testPrivateKey,
    created,
  })
  const headers: Record<string, string> = { host: HOST, 'content-type': 'application/json', ...signed }
  // URL normalization may make another spelling the same URL (`/%2e%2e` is `/`): only a different
  // signed authority or path is another endpoint.
  let forged =
    m.kind === 'oldCreated' || (m.kind === 'misaddressed' && runUrl(signedFor).href !== runUrl(`http://${HOST}`).href)
  switch (m.kind) {
    case 'body': {
      if (payload.length === 0) break
      const at = m.at % payload.length
      if (payload[at] !== m.byte) forged = true
      payload[at] = m.byte
      break
    }
    case 'signatureInput': {
      const original = headers['signature-input']!
      const at = m.at % (original.length + 1)
      const mutated = original.slice(0, at) + m.text + original.slice(at + m.remove)
      headers['signature-input'] = mutated
      forged = normalized(mutated) !== normalized(original)
      break
    }
    case 'signature': {
      const original = headers['signature']!
      const at = m.at % original.length
      const mutated = original.slice(0, at) + m.char + original.slice(at + 1)
      headers['signature'] = mutated
      forged = signatureBytes(mutated) !== signatureBytes(original)
      break
    }
    case 'contentType':
      headers['content-type'] = m.value
      forged = true
      break
    case 'host':
      // The signature is checked against this endpoint's own URL, whatever Host a proxy passes on.
      headers['host'] = m.value
      break
    case 'misaddressed':
      if (m.forwarded) headers['host'] = m.authority
      break
    case 'drop':
      delete headers[m.header]
      forged = true
      break
    case 'hugeHeader':
      headers['x-filler'] = 'x'.repeat(m.size)
      break
  }
  return { headers, payload, forged }
}

describe('fuzz: the endpoint', () => {
  it('never answers 5xx, runs no user code for a refused request, accepts no forgery (app.inject)', async () => {
    await fc.assert(
      fc.asyncProperty(body, mutation, async (raw, m) => {
        const { headers, payload, forged } = build(raw, m)
        figures.inputs++
        const before = ran.count
        const response = await app.inject({ method: 'POST', url: RUN, headers, payload })
        const handlerRan = ran.count - before
        if (response.statusCode >= 500) figures.serverErrors++
        if (forged && response.statusCode === 200) figures.forgeriesAccepted++
        if (response.statusCode !== 200 && handlerRan > 0) figures.handlerRunsOnRefusal++
        expect(response.statusCode, response.body).toBeLessThan(500)
        expect(forged && response.statusCode === 200, `forgery accepted: ${JSON.stringify(m)}`).toBe(false)
        expect(handlerRan === 0 || response.statusCode === 200).toBe(true)
        // Every answer is JSON: a Connect error or a RunResponse.
        const answer = JSON.parse(response.body) as { code?: string; status?: string }
        expect(typeof (answer.code ?? answer.status)).toBe('string')
        // A refused or invalid-argument answer never ran user code.
        if (answer.status === 'STATUS_INVALID_ARGUMENT') expect(handlerRan).toBe(0)
      }),
      params(1000),
    )
    // The valid share of the inputs did run: the property is not vacuous.
    expect(ran.count).toBeGreaterThan(20)
    expect(figures.invalidArgsRun).toBe(0)
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it('runs a signed request once: a replay, even with its headers reformatted, is refused and runs nothing', async () => {
    const reformat = fc.constantFrom('as is', 'signature spaced', 'signature-input spaced', 'host changed')
    await fc.assert(
      fc.asyncProperty(body, fc.array(reformat, { minLength: 1, maxLength: 3 }), async (raw, replays) => {
        const { headers, payload } = build(raw, { kind: 'none' })
        figures.inputs++
        const first = await app.inject({ method: 'POST', url: RUN, headers, payload })
        expect(first.statusCode).toBeLessThan(500)
        for (const how of replays) {
          const again = { ...headers }
          if (how === 'signature spaced') again['signature'] = ` ${again['signature']} `
          if (how === 'signature-input spaced') again['signature-input'] = `${again['signature-input']} `
          if (how === 'host changed') again['host'] = 'relay.test:9000'
          figures.inputs++
          const before = ran.count
          const replay = await app.inject({ method: 'POST', url: RUN, headers: again, payload })
          if (replay.statusCode === 200) figures.replaysAccepted++
          if (ran.count !== before) figures.handlerRunsOnRefusal++
          expect(replay.statusCode, `${how}: ${replay.body}`).not.toBe(200)
          expect(replay.statusCode).toBeLessThan(500)
          expect(ran.count).toBe(before)
          // A request the signature check let through once is refused as a replay (401, DSP2242).
          if (first.statusCode === 200) expect(replay.json()).toMatchObject({ code: 'unauthenticated' })
        }
      }),
      params(300),
    )
    expect(figures.replaysAccepted).toBe(0)
  })

  it('survives hostile bytes over real HTTP: duplicate, huge and non-UTF-8 headers, broken framing', async () => {
    const valid = JSON.stringify({ function: 'add', input: { '@type': VALUE, value: [1, 2] } })
    const request = fc.record({
      m: mutation,
      raw: body,
      duplicate: fc.constantFrom(
        'signature',
        'signature-input',
        'content-digest',
        'content-type',
        'host',
        'content-length',
        'none',
      ),
      extraHeaderBytes: fc.uint8Array({ maxLength: 40 }),
      framing: fc.constantFrom('length', 'chunked', 'short', 'none'),
    })
    await fc.assert(
      fc.asyncProperty(request, async ({ m, raw, duplicate, extraHeaderBytes, framing }) => {
        const { headers, payload, forged } = build(m.kind === 'none' ? raw : valid, m)
        figures.inputs++
        const before = ran.count
        const lines: Buffer[] = [Buffer.from(`POST ${RUN} HTTP/1.1\r\n`)]
        for (const [name, value] of Object.entries(headers)) lines.push(Buffer.from(`${name}: ${value}\r\n`))
        const duplicated = duplicate !== 'none' && headers[duplicate] !== undefined
        if (duplicated) lines.push(Buffer.from(`${duplicate}: ${headers[duplicate]}\r\n`))
        lines.push(
          Buffer.concat([
            Buffer.from('x-bytes: '),
            Buffer.from(extraHeaderBytes.filter((b) => b !== 10 && b !== 13)),
            Buffer.from('\r\n'),
          ]),
        )
        if (framing === 'length') lines.push(Buffer.from(`content-length: ${payload.length}\r\n`))
        if (framing === 'short') lines.push(Buffer.from(`content-length: ${Math.max(0, payload.length - 1)}\r\n`))
        if (framing === 'chunked') lines.push(Buffer.from('transfer-encoding: chunked\r\n'))
        lines.push(Buffer.from('connection: close\r\n\r\n'))
        if (framing === 'chunked')
          lines.push(Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n'))
        else lines.push(payload)
        const status = await rawRequest(Buffer.concat(lines))
        const handlerRan = ran.count - before
        if (status >= 500) figures.serverErrors++
        if (forged && status === 200) figures.forgeriesAccepted++
        if (status !== 200 && handlerRan > 0) figures.handlerRunsOnRefusal++
        expect(status, `status for ${JSON.stringify({ m, duplicate, framing })}`).toBeLessThan(500)
        expect(forged && status === 200).toBe(false)
        expect(handlerRan === 0 || status === 200).toBe(true)
      }),
      params(200),
    )
  })
})

/** Writes bytes on a fresh connection and returns the status code of the answer (0: closed without one). */
function rawRequest(bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
    })
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)))
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text)
      resolve(match ? Number(match[1]) : 0)
    })
    socket.end(bytes)
  })
}
