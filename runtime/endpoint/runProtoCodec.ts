import { decodeProto, encodeProto, ProtoCodecError } from '../../schemas/codec/protoCodec.js'
import { RunRequestProto, RunResponseProto } from '../../schemas/codec/protoMessages.js'
import { failedAnswer, type RunAnswer } from './runAnswer.js'

// The endpoint's binary protobuf codec (docs/protocol.md §2.1), loaded on the first binary request
// only: an endpoint that is only ever sent JSON never loads @bufbuild/protobuf nor the descriptors.

/** A binary RunRequest in its JSON form; throws {@link ProtoCodecError} for bytes that are not one. */
export function decodeRunRequest(body: Uint8Array): unknown {
  return decodeProto(RunRequestProto, body)
}

/** A 200 RunResponse re-encoded in binary protobuf; refusals stay Connect JSON errors. */
export function inProto(answer: RunAnswer): RunAnswer {
  if (answer.statusCode !== 200) return answer
  try {
    return { statusCode: 200, body: '', binary: encodeProto(RunResponseProto, JSON.parse(answer.body)) }
  } catch (error) {
    // A value protobuf cannot hold (nested past what its encoder recurses): the run's answer is invalid.
    const message = `the answer cannot be encoded in protobuf: ${(error as Error).message}`
    const failed = failedAnswer('STATUS_INVALID_RESPONSE', { type: 'InvalidResponseError', message })
    return { statusCode: 200, body: '', binary: encodeProto(RunResponseProto, JSON.parse(failed.body)) }
  }
}

export { ProtoCodecError }
