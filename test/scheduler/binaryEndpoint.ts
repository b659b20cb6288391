import { createServer, type Server } from 'node:http'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { type Any, AnySchema, anyPack, ValueSchema } from '@bufbuild/protobuf/wkt'
import { parsePublicKey } from '../../runtime/signing/parseKey.js'
import { verifyRequest } from '../../runtime/signing/verifyRequest.js'
import { RunRequestSchema, type RunResponse, RunResponseSchema } from '../../schemas/proto/gen/function_pb.gen.js'
import { Status } from '../../schemas/proto/gen/status_pb.gen.js'

// A peer that speaks only binary protobuf, as a Dispatch SDK endpoint does: written with the
// generated messages and the signature verifier, never with this project's JSON codec. Its
// functions play a Python SDK coroutine: an opaque pickled state, pickled inputs and outputs,
// uint64 correlation ids, and a tail call without a result (the SDK's Reset).

export const PICKLED_TYPE_URL = 'buf.build/stealthrocket/dispatch-proto/dispatch.sdk.python.v1.Pickled'
/** A correlation id past 2^32, as the Python SDK makes them. */
export const BIG_CORRELATION_ID = 4294967297n
export const STATE_BYTES = new Uint8Array([0x80, 0x04, 0x95, 0x00, 0xff, 0x10, 0x42])

export const pickled = (bytes: Uint8Array): Any => create(AnySchema, { typeUrl: PICKLED_TYPE_URL, value: bytes })

export interface BinaryEndpoint {
  readonly url: string
  readonly server: Server
  /** What went wrong as the endpoint saw it (a wrong content type, a state not handed back exactly, ...). */
  readonly problems: string[]
  /** The content types of the requests received. */
  readonly contentTypes: string[]
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

function answer(request: ReturnType<typeof fromBinary<typeof RunRequestSchema>>, problems: string[]): RunResponse {
  const input = request.directive.case === 'input' ? request.directive.value : undefined
  switch (request.function) {
    case 'echo':
      return create(RunResponseSchema, {
        status: Status.OK,
        directive: { case: 'exit', value: { result: { output: input } } },
      })
    case 'pickledCoroutine': {
      if (request.directive.case === 'input') {
        if (input?.typeUrl !== PICKLED_TYPE_URL) problems.push(`pickledCoroutine input ${input?.typeUrl}`)
        return create(RunResponseSchema, {
          status: Status.OK,
          directive: {
            case: 'poll',
            value: {
              state: { case: 'typedCoroutineState', value: pickled(STATE_BYTES) },
              calls: [{ function: 'echo', correlationId: BIG_CORRELATION_ID, input: pickled(new Uint8Array([7, 8])) }],
              maxWait: { seconds: 60n },
              minResults: 1,
              maxResults: 10,
            },
          },
        })
      }
      const poll = request.directive.case === 'pollResult' ? request.directive.value : undefined
      const state = poll?.state.case === 'typedCoroutineState' ? poll.state.value : undefined
      if (state?.typeUrl !== PICKLED_TYPE_URL || !equalBytes(state.value, STATE_BYTES)) {
        problems.push('the typed coroutine state was not handed back exactly')
      }
      const result = poll?.results[0]
      if (result?.correlationId !== BIG_CORRELATION_ID) problems.push(`correlation id ${result?.correlationId}`)
      if (result?.output?.typeUrl !== PICKLED_TYPE_URL || !equalBytes(result.output.value, new Uint8Array([7, 8]))) {
        problems.push('the child output was not handed back exactly')
      }
      // The Python SDK's Reset: a tail call, no result, status TEMPORARY_ERROR.
      return create(RunResponseSchema, {
        status: Status.TEMPORARY_ERROR,
        directive: { case: 'exit', value: { tailCall: { function: 'finish', input: pickled(new Uint8Array([9])) } } },
      })
    }
    case 'finish': {
      const ok = input?.typeUrl === PICKLED_TYPE_URL && equalBytes(input.value, new Uint8Array([9]))
      return create(RunResponseSchema, {
        status: Status.OK,
        directive: {
          case: 'exit',
          value: {
            result: {
              output: anyPack(
                ValueSchema,
                create(ValueSchema, { kind: { case: 'stringValue', value: ok ? 'finished' : 'bad input' } }),
              ),
            },
          },
        },
      })
    }
    default:
      return create(RunResponseSchema, {
        status: Status.NOT_FOUND,
        directive: { case: 'exit', value: { result: { error: { type: 'NotFound', message: request.function } } } },
      })
  }
}

/** Starts the binary-only endpoint on 127.0.0.1, verifying signatures with `verificationKeyPem`. */
export async function startBinaryEndpoint(verificationKeyPem: string): Promise<BinaryEndpoint> {
  const publicKey = parsePublicKey(verificationKeyPem, 'DISPATCH_VERIFICATION_KEY')
  const problems: string[] = []
  const contentTypes: string[] = []
  let origin = ''
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = new Uint8Array(Buffer.concat(chunks))
      contentTypes.push(String(req.headers['content-type']))
      const url = new URL(`${origin}${req.url}`)
      const verified = verifyRequest({
        method: req.method ?? '',
        path: url.pathname,
        authority: url.host,
        headers: req.headers as Record<string, string>,
        body,
        publicKey,
      })
      if (!verified.ok || req.headers['content-type'] !== 'application/proto') {
        problems.push(`refused: ${verified.ok ? req.headers['content-type'] : 'bad signature'}`)
        res.writeHead(400).end()
        return
      }
      let response: RunResponse
      try {
        response = answer(fromBinary(RunRequestSchema, body), problems)
      } catch (error) {
        problems.push(`not a binary RunRequest: ${(error as Error).message}`)
        res.writeHead(500).end()
        return
      }
      const request = fromBinary(RunRequestSchema, body)
      // `echo` names no protobuf type, as some servers answer: read in the codec of the request.
      const type = request.function === 'echo' ? 'application/octet-stream' : 'application/proto'
      res.writeHead(200, { 'content-type': type }).end(toBinary(RunResponseSchema, response))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  origin = `http://127.0.0.1:${port}`
  return { url: origin, server, problems, contentTypes }
}
