// Which codec a Content-Type names: apart from the codec itself, so that a reader of JSON only never
// loads @bufbuild/protobuf.

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
