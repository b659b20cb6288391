import { type Static, Type } from 'typebox'

/** `google.protobuf.Timestamp` in proto3 JSON: an RFC 3339 string. */
export const Timestamp = Type.String({ format: 'date-time' })

/** `google.protobuf.Duration` in proto3 JSON: seconds with an `s` suffix, like `"1.5s"`. */
export const Duration = Type.String({ pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$' })

/** A `uint64` in proto3 JSON: a decimal string (numbers are tolerated on input). */
export const Uint64 = Type.Union([Type.String({ pattern: '^[0-9]{1,20}$' }), Type.Integer({ minimum: 0 })])

/** `bytes` in proto3 JSON: standard base64. */
export const Bytes = Type.String({ pattern: '^[A-Za-z0-9+/_-]*={0,2}$' })

export const VALUE_TYPE_URL = 'type.googleapis.com/google.protobuf.Value'

/**
 * `google.protobuf.Any`: `@type` names the message; a well-known type's JSON (such as
 * `google.protobuf.Value`, which carries function inputs and outputs) goes under `value`. A message of
 * any other type (another SDK's pickled values and coroutine states) travels as its serialized bytes
 * under `@bytes` (standard base64), handed back exactly as received (docs/protocol.md §2).
 */
export const AnyMessage = Type.Object(
  {
    '@type': Type.String({ minLength: 1 }),
    value: Type.Optional(Type.Unknown()),
    '@bytes': Type.Optional(Bytes),
  },
  { additionalProperties: true },
)
export type AnyMessage = Static<typeof AnyMessage>
export type Timestamp = Static<typeof Timestamp>
export type Duration = Static<typeof Duration>
export type Uint64 = Static<typeof Uint64>
