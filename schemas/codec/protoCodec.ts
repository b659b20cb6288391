import { type DescMessage, fromBinary, type Message, toBinary } from '@bufbuild/protobuf'
import { messageFromJson, messageToJson, ProtoCodecError } from './protoJson.js'

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
