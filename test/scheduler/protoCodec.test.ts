import { join } from 'node:path'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { anyPack, ValueSchema } from '@bufbuild/protobuf/wkt'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { generateSigningKeyPair } from '../../runtime/signing/index.js'
import { DispatchRequestSchema, DispatchResponseSchema } from '../../schemas/proto/gen/dispatch_pb.gen.js'
import { coroutineRoutes } from '../runtime/helpers/coroutineRoutes.js'
import { type BinaryEndpoint, PICKLED_TYPE_URL, pickled, startBinaryEndpoint } from './binaryEndpoint.js'
import { removeFolder, startEndpoint, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// The Dispatch SDKs' wire format end to end: a binary client dispatching to the API, the scheduler
// delivering in binary to an endpoint that speaks nothing else (a Poll with an opaque typed state,
// a uint64 correlation id, a tail call without a result), and this project's endpoint answering in
// the codec it was asked in.

const keys = generateSigningKeyPair()
const endpointContentTypes: string[] = []
const routes = defineRoutes({
  double: {
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    source: 'test/scheduler/protoCodec.test.ts:1',
    handler: (n: number) => n * 2,
  },
})

let folder: string
let t: TestScheduler
let binary: BinaryEndpoint
let ours: { app: FastifyInstance; url: string }
let coroutines: { app: FastifyInstance; url: string }

beforeAll(async () => {
  folder = await tempFolder()
  binary = await startBinaryEndpoint(keys.publicKeyPem)
  const app = Fastify()
  app.addHook('onResponse', (request, reply, done) => {
    endpointContentTypes.push(`${request.headers['content-type']} -> ${reply.getHeader('content-type')}`)
    done()
  })
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: keys.publicKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  ours = { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) }
  coroutines = await startEndpoint(coroutineRoutes, keys.publicKeyPem)
  t = await startTestScheduler(join(folder, 'dispatch.db'), {
    signingKey: keys.privateKeyPem,
    protoEndpoints: [`${binary.url}/`, `${ours.url}/`, `${coroutines.url}/`],
  })
})
afterAll(async () => {
  await t.scheduler.close()
  binary.server.close()
  await ours.app.close()
  await coroutines.app.close()
  await removeFolder(folder)
})

/** Dispatch as the Python SDK's client does: Connect unary, binary protobuf, bearer key. */
async function dispatchBinary(body: Uint8Array, key = t.scheduler.apiKey) {
  return fetch(`${t.scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
    method: 'POST',
    headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1', authorization: `Bearer ${key}` },
    body,
  })
}

describe('binary protobuf (application/proto)', () => {
  it('accepts a binary DispatchRequest and answers a binary DispatchResponse', async () => {
    const request = create(DispatchRequestSchema, {
      calls: [{ endpoint: binary.url, function: 'echo', input: pickled(new Uint8Array([1, 2, 3])) }],
    })
    const response = await dispatchBinary(toBinary(DispatchRequestSchema, request))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/proto')
    const { dispatchIds } = fromBinary(DispatchResponseSchema, new Uint8Array(await response.arrayBuffer()))
    expect(dispatchIds).toHaveLength(1)
    const call = await t.settle(dispatchIds[0]!)
    expect(call.state).toBe('succeeded')
    // The pickled output, carried opaquely: its type URL and its bytes, exactly.
    expect(call.output).toEqual({ '@type': PICKLED_TYPE_URL, '@bytes': 'AQID' })
    expect(binary.contentTypes.every((c) => c === 'application/proto')).toBe(true)
  })

  it('delivers a coroutine in binary: opaque typed state, uint64 correlation ids, a tail call without result', async () => {
    const request = create(DispatchRequestSchema, {
      calls: [{ endpoint: binary.url, function: 'pickledCoroutine', input: pickled(new Uint8Array([0])) }],
    })
    const response = await dispatchBinary(toBinary(DispatchRequestSchema, request))
    const { dispatchIds } = fromBinary(DispatchResponseSchema, new Uint8Array(await response.arrayBuffer()))
    const call = await t.settle(dispatchIds[0]!)
    expect(binary.problems).toEqual([])
    expect(call.state).toBe('succeeded')
    expect(call.function).toBe('finish')
    expect(call.output).toEqual({ '@type': 'type.googleapis.com/google.protobuf.Value', value: 'finished' })
  })

  it('refuses malformed binary bodies with 400 and DSP3014, as a Connect JSON error', async () => {
    const bodies = [
      new Uint8Array([0x0a, 0x05, 0x1a]), // truncated: a length past the end
      new Uint8Array([0x0b]), // a start-group wire type
      new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a huge length
      new Uint8Array([0x08, 0x01]), // calls (a message) sent as a varint
      new Uint8Array([0x0a, 0x02, 0x22, 0x00]), // a call without a function: a schema refusal
    ]
    for (const body of bodies) {
      const response = await dispatchBinary(body)
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      const error = (await response.json()) as { code: string; message: string }
      expect(error.code).toBe('invalid_argument')
      expect(error.message).toMatch(/^DSP3014: not a binary dispatch\.sdk\.v1\.DispatchRequest|^call 0: /)
    }
  })

  it('skips unknown fields of a binary request', async () => {
    const known = toBinary(
      DispatchRequestSchema,
      create(DispatchRequestSchema, { calls: [{ endpoint: binary.url, function: 'echo' }] }),
    )
    // Field 15, varint 1: a field of a newer protocol version.
    const response = await dispatchBinary(new Uint8Array([...known, 0x78, 0x01]))
    expect(response.status).toBe(200)
  })

  it("this project's endpoint answers a binary RunRequest in binary", async () => {
    const input = anyPack(
      ValueSchema,
      create(ValueSchema, {
        kind: { case: 'listValue', value: { values: [{ kind: { case: 'numberValue', value: 21 } }] } },
      }),
    )
    const request = create(DispatchRequestSchema, { calls: [{ endpoint: ours.url, function: 'double', input }] })
    const response = await dispatchBinary(toBinary(DispatchRequestSchema, request))
    const { dispatchIds } = fromBinary(DispatchResponseSchema, new Uint8Array(await response.arrayBuffer()))
    const call = await t.settle(dispatchIds[0]!)
    expect(call.state).toBe('succeeded')
    expect(call.output).toEqual({ '@type': 'type.googleapis.com/google.protobuf.Value', value: 42 })
    expect(endpointContentTypes).toContain('application/proto -> application/proto')
  })

  it("this project's coroutines run in binary: the first call's correlation id 0 is left out and still resumes it", async () => {
    const [id] = await t.dispatch([{ endpoint: coroutines.url, function: 'dag', input: value([3]) }])
    const call = await t.settle(id!)
    expect(call.state).toBe('succeeded')
    expect(call.output?.value).toMatchObject({ a: 6, b: 24, s: 60, e: 60 })
  })
})

describe('the CallService in binary', () => {
  it('is refused with a 400 saying it speaks JSON only', async () => {
    const response = await fetch(`${t.scheduler.url}/dispatch.scheduler.v1.CallService/Get`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', authorization: `Bearer ${t.scheduler.apiKey}` },
      body: new Uint8Array([0x0a, 0x01, 0x61]),
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { message: string }).message).toMatch(/speaks JSON only/)
  })
})
