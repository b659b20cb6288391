import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type DescMessage, fromBinary, toJson } from '@bufbuild/protobuf'
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { codecOfContentType } from '../../schemas/codec/contentTypes.js'
import { decodeProto, encodeProto, ProtoCodecError } from '../../schemas/codec/protoCodec.js'
import { DispatchRequestProto, RunRequestProto, RunResponseProto } from '../../schemas/codec/protoMessages.js'
import { wellKnownTypes } from '../../schemas/codec/wellKnownTypes.js'
import { DispatchRequest } from '../../schemas/dispatch.js'
import { RunRequest, RunResponse } from '../../schemas/run.js'
import { repoRoot } from '../codegen/helpers.js'

// The binary codec against golden vectors (test/fixtures/vectors/proto.json, docs/protocol.md §15):
// each binary encoding decodes to its JSON, which the JSON schemas accept, and encodes back to the
// same bytes; where every Any is a well-known type the JSON is exactly protobuf-es's proto3 JSON.

interface Vector {
  readonly name: string
  readonly message: 'RunRequest' | 'RunResponse' | 'DispatchRequest'
  readonly hex: string
  readonly json: unknown
}
const { vectors } = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/vectors/proto.json'), 'utf8')) as {
  vectors: Vector[]
}
const DESC: Record<Vector['message'], DescMessage> = {
  RunRequest: RunRequestProto,
  RunResponse: RunResponseProto,
  DispatchRequest: DispatchRequestProto,
}
const SCHEMA = { RunRequest, RunResponse, DispatchRequest }

describe('golden vectors', () => {
  for (const vector of vectors) {
    it(`${vector.message}: ${vector.name}`, () => {
      const desc = DESC[vector.message]
      const bytes = Buffer.from(vector.hex, 'hex')
      const json = decodeProto(desc, bytes)
      expect(json).toEqual(vector.json)
      expect(Compile(SCHEMA[vector.message]).Check(json)).toBe(true)
      expect(Buffer.from(encodeProto(desc, vector.json)).toString('hex')).toBe(vector.hex)
      if (!vector.hex.includes(Buffer.from('Pickled').toString('hex'))) {
        expect(json).toEqual(toJson(desc, fromBinary(desc, bytes), { registry: wellKnownTypes }))
      }
    })
  }
})

describe('the binary codec', () => {
  it('round-trips uint64 correlation ids exactly, as decimal strings', () => {
    const json = { status: 'STATUS_OK', poll: { calls: [{ function: 'f', correlationId: '18446744073709551615' }] } }
    expect(decodeProto(RunResponseProto, encodeProto(RunResponseProto, json))).toEqual(json)
  })

  it('refuses bytes that are not the message, saying so', () => {
    for (const bytes of [[0x0a, 0x05, 0x1a], [0x0b], [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x12, 0x02, 0x08]]) {
      expect(() => decodeProto(RunRequestProto, new Uint8Array(bytes))).toThrow(
        /^not a binary dispatch\.sdk\.v1\.RunRequest: /,
      )
    }
  })

  it('refuses a malformed well-known value inside an Any', () => {
    // input: an Any of google.protobuf.Value whose bytes are a truncated field.
    const url = Buffer.from('type.googleapis.com/google.protobuf.Value')
    const any = Buffer.concat([Buffer.from([0x0a, url.length]), url, Buffer.from([0x12, 0x02, 0x1a, 0x05])])
    const request = Buffer.concat([Buffer.from([0x0a, 0x01, 0x66, 0x12, any.length]), any])
    expect(() => decodeProto(RunRequestProto, request)).toThrow(ProtoCodecError)
  })

  it('cannot encode an Any of an unknown type given as JSON fields', () => {
    const json = { function: 'f', input: { '@type': 'type.googleapis.com/acme.Order', id: 1 } }
    expect(() => encodeProto(RunRequestProto, json)).toThrow(/acme\.Order cannot be encoded in binary/)
  })

  it('reads the content types of both codecs', () => {
    expect(codecOfContentType('application/json; charset=utf-8')).toBe('json')
    expect(codecOfContentType('Application/Proto')).toBe('proto')
    expect(codecOfContentType('application/x-protobuf')).toBe('proto')
    expect(codecOfContentType('text/plain')).toBeUndefined()
    expect(codecOfContentType(undefined)).toBeUndefined()
  })
})

// Flow control (docs/flow-control.md) travels in binary too: a DispatchCall's priority and flow, and
// the flow of a Poll's calls, as field numbers from 100 on that SDKs skip.
describe('flow options in binary', () => {
  it("keeps a DispatchCall's priority and flow, and a Poll call's flow, through encode and decode", () => {
    const input = { '@type': 'type.googleapis.com/google.protobuf.Value', value: 1 }
    const dispatch = {
      calls: [
        {
          endpoint: 'http://127.0.0.1:1',
          function: 'charge',
          input,
          priority: 7,
          flow: {
            priority: 3,
            concurrency: { limit: 2, key: 'customer-1' },
            rateLimit: { limit: 10, periodMs: 60_000, key: 'customer-1' },
            debounce: { windowMs: 5_000, key: 'customer-1', keep: 'first', maxMs: 60_000 },
          },
        },
      ],
    }
    expect(decodeProto(DispatchRequestProto, encodeProto(DispatchRequestProto, dispatch))).toEqual(dispatch)
    const poll = {
      status: 'STATUS_OK',
      poll: {
        coroutineState: 'AAAA',
        maxWait: '1s',
        calls: [{ correlationId: '1', function: 'f', input, flow: { concurrency: { limit: 1 } } }],
      },
    }
    expect(decodeProto(RunResponseProto, encodeProto(RunResponseProto, poll))).toEqual(poll)
  })
})
