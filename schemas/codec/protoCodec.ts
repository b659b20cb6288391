import { type DescMessage, fromBinary, type Message, toBinary } from '@bufbuild/protobuf'
import { messageFromJson, messageToJson, ProtoCodecError } from './protoJson.js'

/** The two encodings of dispatch.sdk.v1 messages (docs/protocol.md §2). */
export type Codec = 'json' | 'proto'

export const JSON_CONTENT_TYPE = 'application/json'
/** Connect's content type for unary binary protobuf, what the Dispatch SDKs send and expect. */
export const PROTO_CONTENT_TYPE = 'application/proto'

/** The content type of a body in `codec`. */
export const contentTypeOf = (codec: Codec): string => (codec === 'proto' ? PROTO_CONTENT_TYPE : JSON_CONTENT_TYPE)

/**
 * The codec a `Content-Type` names (parameters and case ignored), or `undefined` for any other:
 * `application/json`, and `application/proto` with its older spellings `application/protobuf` and
 * `application/x-protobuf`.
 */
export function codecOfContentType(contentType: string | undefined): Codec | undefined {
  const media = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase()
  if (media === 'application/json') return 'json'
  if (media === 'application/proto' || media === 'application/protobuf' || media === 'application/x-protobuf') {
    return 'proto'
  }
  return undefined
}

/**
 * A binary message of type `desc`, decoded into its proto3 JSON (docs/protocol.md §2): what the
 * schemas of `schemas/` then validate, so both codecs meet the same checks. Unknown fields are
 * skipped. Throws a {@link ProtoCodecError} saying what is wrong for bytes that are not the message
 * (truncated, a wrong wire type, a length past the end, nesting too deep).
 */
export function decodeProto(desc: DescMessage, bytes: Uint8Array): unknown {
  let message: Message
  try {
    message = fromBinary(desc, bytes, { readUnknownFields: false })
  } catch (error) {
    const text = (error as Error).message
    const reason = /call stack/i.test(text) ? 'nested too deep' : text
    throw new ProtoCodecError(`not a binary ${desc.typeName}: ${reason}`)
  }
  return messageToJson(desc, message)
}

/** The binary encoding of a message of type `desc` given in its proto3 JSON (the inverse of {@link decodeProto}). */
export function encodeProto(desc: DescMessage, json: unknown): Uint8Array {
  return toBinary(desc, messageFromJson(desc, json))
}

export { ProtoCodecError }
