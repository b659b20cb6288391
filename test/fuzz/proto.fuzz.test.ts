import { join } from 'node:path'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { anyPack, ValueSchema } from '@bufbuild/protobuf/wkt'
import fc from 'fast-check'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { signRequest } from '../../runtime/signing/index.js'
import { DispatchRequestSchema } from '../../schemas/proto/gen/dispatch_pb.gen.js'
import { RunRequestSchema, RunResponseSchema } from '../../schemas/proto/gen/function_pb.gen.js'
import { HOST, RUN, testPrivateKey } from '../runtime/helpers/endpointApp.js'
import { vectors } from '../runtime/helpers/vectors.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder } from '../scheduler/helpers.js'
import { params, recordFigures } from './fuzzConfig.js'

// Both binary receivers under malformed protobuf (truncated, bytes flipped, wrong wire types, huge
// lengths, unknown fields, deep nesting, noise): the answer is a 4xx or a well-formed answer, never
// a 5xx, a hang or a crash.

const figures = { inputs: 0, serverErrors: 0, badAnswers: 0 }

function varint(n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** A length-delimited field: its tag, its length and its bytes. */
const field = (n: number, bytes: Uint8Array): Uint8Array =>
  Buffer.concat([Buffer.from(varint((n << 3) | 2)), Buffer.from(varint(bytes.length)), bytes])

/** A google.protobuf.Value nested `depth` lists deep (`list_value` 6 → `values` 1 → ...), in binary. */
function deepValue(depth: number): Uint8Array {
  // Built from the inside out as headers only (all the content is at the end), in linear time.
  const headers: number[][] = []
  let length = 0
  for (let i = 0; i < depth; i++) {
    const inner = [0x0a, ...varint(length)]
    const listLength = inner.length + length
    const outer = [0x32, ...varint(listLength)]
    headers.push([...outer, ...inner])
    length = outer.length + listLength
  }
  return new Uint8Array(headers.reverse().flat())
}

/** An Any of google.protobuf.Value holding `deepValue(depth)`. */
const deepAny = (depth: number) =>
  Buffer.concat([field(1, Buffer.from('type.googleapis.com/google.protobuf.Value')), field(2, deepValue(depth))])

const number = (n: number) => create(ValueSchema, { kind: { case: 'numberValue', value: n } })
const list = (...values: ReturnType<typeof number>[]) =>
  create(ValueSchema, { kind: { case: 'listValue', value: { values } } })

const validRun = toBinary(
  RunRequestSchema,
  create(RunRequestSchema, {
    function: 'add',
    directive: { case: 'input', value: anyPack(ValueSchema, list(number(1), number(2))) },
  }),
)
const deepRun = (depth: number) => Buffer.concat([field(1, Buffer.from('add')), field(2, deepAny(depth))])

/** Malformed and near-miss binary bodies built from a valid one. */
function bodies(valid: Uint8Array, deep: (depth: number) => Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.constant(valid),
    fc.nat({ max: valid.length - 1 }).map((at) => valid.subarray(0, at)),
    fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }))
      .map(([at, byte]) => Uint8Array.from(valid, (b, i) => (i === at ? byte : b))),
    // A field with each wire type (6 and 7 do not exist), at field numbers known and unknown.
    fc
      .tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 7 }))
      .map(([field, wire]) => new Uint8Array([...valid, ...varint((field << 3) | wire), 0x01, 0x01])),
    // A length past the end, up to 2^32 - 1.
    fc.constantFrom(0x7f, 0xffff, 0xffffffff).map((n) => new Uint8Array([0x0a, ...varint(n), 0x61])),
    fc.integer({ min: 50, max: 20_000 }).map(deep),
    fc.uint8Array({ maxLength: 300 }),
  )
}

const routes = defineRoutes({
  add: {
    input: tupleSchema([Type.Number(), Type.Number()]),
    output: Type.Number(),
    handler: (a: number, b: number) => a + b,
    source: 'test/fuzz/proto.ts:1',
  },
})

let app: FastifyInstance
let folder: string
let t: TestScheduler

beforeAll(async () => {
  app = Fastify()
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: vectors.key.public_pem,
    endpointUrl: `http://${HOST}`,
    bodyLimit: 4 * 1024 * 1024,
  })
  folder = await tempFolder()
  // Calls to other endpoints are refused, so nothing accepted here is delivered anywhere but a closed port.
  t = await startTestScheduler(join(folder, 'dispatch.db'), { allowEndpoints: ['http://127.0.0.1:9/'] })
})
afterAll(async () => {
  await app.close()
  await t.scheduler.close()
  await removeFolder(folder)
  recordFigures({
    suite: 'fuzz: protobuf',
    'bad inputs tried': figures.inputs,
    'crashes or 5xx seen': figures.serverErrors,
    'malformed answers': figures.badAnswers,
  })
})

describe('malformed protobuf', () => {
  it('an endpoint answers a 4xx or a binary RunResponse', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(bodies(validRun, deepRun), async (body) => {
        figures.inputs++
        const headers = signRequest({
          method: 'POST',
          url: `http://${HOST}${RUN}`,
          headers: { 'content-type': 'application/proto' },
          body,
          privateKey: testPrivateKey,
        })
        const response = await app.inject({
          method: 'POST',
          url: RUN,
          headers: { host: HOST, 'content-type': 'application/proto', ...headers },
          payload: Buffer.from(body),
        })
        if (response.statusCode >= 500) figures.serverErrors++
        expect(response.statusCode).toBeLessThan(500)
        if (response.statusCode === 200) {
          expect(response.headers['content-type']).toBe('application/proto')
          try {
            fromBinary(RunResponseSchema, response.rawPayload)
          } catch {
            figures.badAnswers++
            throw new Error('the endpoint answered a RunResponse that does not decode')
          }
        } else {
          expect(JSON.parse(response.body)).toHaveProperty('code')
        }
      }),
      params(150),
    )
  })

  it('the Dispatch API answers a 4xx Connect JSON error or a binary DispatchResponse', {
    timeout: 120_000,
  }, async () => {
    const valid = toBinary(
      DispatchRequestSchema,
      create(DispatchRequestSchema, {
        calls: [
          { endpoint: 'http://127.0.0.1:9/', function: 'add', maxAttempts: 1, input: anyPack(ValueSchema, number(1)) },
        ],
      }),
    )
    const deep = (depth: number) =>
      field(
        1,
        Buffer.concat([
          field(2, Buffer.from('http://127.0.0.1:9/')),
          field(3, Buffer.from('add')),
          field(4, deepAny(depth)),
        ]),
      )
    await fc.assert(
      fc.asyncProperty(bodies(valid, deep), async (body) => {
        figures.inputs++
        const response = await fetch(`${t.scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
          method: 'POST',
          headers: {
            'content-type': 'application/proto',
            'connect-protocol-version': '1',
            authorization: `Bearer ${t.scheduler.apiKey}`,
          },
          body,
        })
        if (response.status >= 500) figures.serverErrors++
        expect(response.status).toBeLessThan(500)
        if (response.status === 200) expect(response.headers.get('content-type')).toBe('application/proto')
        else expect(((await response.json()) as { code?: string }).code).toBeTypeOf('string')
        await response.body?.cancel().catch(() => undefined)
      }),
      params(100),
    )
  })
})
