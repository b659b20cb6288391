import {
  create,
  type DescEnum,
  type DescField,
  type DescMessage,
  fromBinary,
  fromJson,
  type JsonValue,
  type Message,
  ScalarType,
  toJson,
} from '@bufbuild/protobuf'
import { base64Decode, base64Encode } from '@bufbuild/protobuf/wire'
import { type Any, AnySchema } from '@bufbuild/protobuf/wkt'
import { OPAQUE_BYTES_KEY, wellKnownTypes } from './wellKnownTypes.js'

/**
 * Why a message could not be converted, with the JSON path (`/calls/0/input`) of the offending
 * value: the caller wraps it into its own coded error (the API's, the endpoint's, delivery's).
 */
export class ProtoCodecError extends Error {
  override name = 'ProtoCodecError'
}

type Obj = Record<string, unknown>

/** Messages nested in an Any's value: two per level of a `google.protobuf.Value`, for 1,000 levels of JSON. */
const ANY_RECURSION_LIMIT = 2 * 1000 + 10

const INT64: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
])

function scalarToJson(type: ScalarType, value: unknown): unknown {
  if (INT64.has(type)) return String(value)
  if (type === ScalarType.BYTES) return base64Encode(value as Uint8Array)
  if ((type === ScalarType.DOUBLE || type === ScalarType.FLOAT) && !Number.isFinite(value as number)) {
    return Number.isNaN(value) ? 'NaN' : (value as number) > 0 ? 'Infinity' : '-Infinity'
  }
  return value
}

/** proto3 omits a scalar at its zero value (implicit presence), unless it is a member of a oneof. */
function isZero(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0
  return value === 0 || value === 0n || value === '' || value === false
}

function valueToJson(field: DescField, value: unknown, path: string): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarToJson(field.scalar, value)
    case 'enum':
      return field.enum.value[value as number]?.name ?? value
    case 'message':
      return messageToJson(field.message, value as Message, path)
    case 'list':
      return (value as unknown[]).map((item, i) => {
        const at = `${path}/${i}`
        if (field.listKind === 'message') return messageToJson(field.message, item as Message, at)
        if (field.listKind === 'enum') return field.enum.value[item as number]?.name ?? item
        return scalarToJson(field.scalar, item)
      })
    default:
      throw new ProtoCodecError(`${path}: map fields are not part of dispatch.sdk.v1`)
  }
}

function anyToJson(any: Any, path: string): Obj {
  const desc = wellKnownTypes.getMessage(any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1))
  // A type this codec does not know (another SDK's pickled values, its coroutine states) travels
  // as its bytes, to be handed back exactly as received (docs/protocol.md §2).
  if (desc === undefined) return { '@type': any.typeUrl, [OPAQUE_BYTES_KEY]: base64Encode(any.value) }
  try {
    // Decoded here rather than by toJson(AnySchema): protobuf-es's default nesting bound (100 messages)
    // would refuse a Value nested 50 levels deep, where JSON allows 1,000 (docs/protocol.md §17).
    const inner = fromBinary(desc, any.value, { recursionLimit: ANY_RECURSION_LIMIT })
    // Every well-known type here but Empty has a JSON mapping of its own, which goes under `value`.
    if (desc.typeName === 'google.protobuf.Empty') return { '@type': any.typeUrl }
    return { '@type': any.typeUrl, value: toJson(desc, inner) }
  } catch (error) {
    throw new ProtoCodecError(`${path}: the ${any.typeUrl} value is malformed (${(error as Error).message})`)
  }
}

/**
 * A decoded message in the proto3 JSON mapping, as the schemas of `schemas/` describe it (field
 * names in lowerCamelCase, zero values left out, uint64 as decimal strings). Unlike the strict
 * mapping, an `Any` of a type that is not well known becomes `{"@type", "@bytes"}` instead of an
 * error.
 */
export function messageToJson(desc: DescMessage, message: Message, path = ''): unknown {
  if (desc.typeName === AnySchema.typeName) return anyToJson(message as Any, path)
  if (desc.typeName.startsWith('google.protobuf.')) {
    try {
      return toJson(desc, message)
    } catch (error) {
      throw new ProtoCodecError(`${path}: ${(error as Error).message}`)
    }
  }
  const json: Obj = {}
  const fields = message as unknown as Obj
  for (const field of desc.fields) {
    let value: unknown
    if (field.oneof !== undefined) {
      const chosen = fields[field.oneof.localName] as { case?: string; value?: unknown }
      if (chosen.case !== field.localName) continue
      value = chosen.value
    } else {
      value = fields[field.localName]
      if (value === undefined) continue
      if (field.fieldKind === 'list' && (value as unknown[]).length === 0) continue
      if ((field.fieldKind === 'scalar' || field.fieldKind === 'enum') && isZero(value)) continue
    }
    json[field.jsonName] = valueToJson(field, value, `${path}/${field.jsonName}`)
  }
  return json
}

function scalarFromJson(type: ScalarType, value: unknown, path: string): unknown {
  if (INT64.has(type)) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new ProtoCodecError(`${path}: not an integer`)
    try {
      return BigInt(value)
    } catch {
      throw new ProtoCodecError(`${path}: not an integer`)
    }
  }
  if (type === ScalarType.BYTES) {
    if (typeof value !== 'string') throw new ProtoCodecError(`${path}: not base64`)
    return base64Decode(value)
  }
  if (type === ScalarType.STRING) {
    if (typeof value !== 'string') throw new ProtoCodecError(`${path}: not a string`)
    return value
  }
  if (type === ScalarType.BOOL) {
    if (typeof value !== 'boolean') throw new ProtoCodecError(`${path}: not a boolean`)
    return value
  }
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || Number.isNaN(n)) throw new ProtoCodecError(`${path}: not a number`)
  return n
}

function valueFromJson(field: DescField, value: unknown, path: string): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarFromJson(field.scalar, value, path)
    case 'enum':
      return enumFromJson(field.enum, value, path)
    case 'message':
      return messageFromJson(field.message, value, path)
    case 'list':
      if (!Array.isArray(value)) throw new ProtoCodecError(`${path}: not an array`)
      return value.map((item, i) => {
        const at = `${path}/${i}`
        if (field.listKind === 'message') return messageFromJson(field.message, item, at)
        if (field.listKind === 'enum') return enumFromJson(field.enum, item, at)
        return scalarFromJson(field.scalar, item, at)
      })
    default:
      throw new ProtoCodecError(`${path}: map fields are not part of dispatch.sdk.v1`)
  }
}

function enumFromJson(desc: DescEnum, value: unknown, path: string): number {
  if (typeof value === 'number') return value
  const found = desc.values.find((v) => v.name === value)
  if (found === undefined) throw new ProtoCodecError(`${path}: ${JSON.stringify(value)} is not a value of the enum`)
  return found.number
}

function anyFromJson(json: unknown, path: string): Any {
  if (typeof json !== 'object' || json === null || typeof (json as Obj)['@type'] !== 'string') {
    throw new ProtoCodecError(`${path}: an Any needs an "@type"`)
  }
  const typeUrl = (json as Obj)['@type'] as string
  const opaque = (json as Obj)[OPAQUE_BYTES_KEY]
  if (typeof opaque === 'string') return create(AnySchema, { typeUrl, value: base64Decode(opaque) })
  if (wellKnownTypes.getMessage(typeUrl.slice(typeUrl.lastIndexOf('/') + 1)) === undefined) {
    throw new ProtoCodecError(
      `${path}: an Any of type ${typeUrl} cannot be encoded in binary: it is not a well-known type and carries no "${OPAQUE_BYTES_KEY}"`,
    )
  }
  try {
    return fromJson(AnySchema, json as JsonValue, { registry: wellKnownTypes })
  } catch (error) {
    throw new ProtoCodecError(`${path}: ${(error as Error).message}`)
  }
}

/** The inverse of {@link messageToJson}: a message from its proto3 JSON (unknown keys are ignored). */
export function messageFromJson<T extends Message>(desc: DescMessage, json: unknown, path = ''): T {
  if (desc.typeName === AnySchema.typeName) return anyFromJson(json, path) as unknown as T
  if (desc.typeName.startsWith('google.protobuf.')) {
    try {
      return fromJson(desc, json as JsonValue) as T
    } catch (error) {
      throw new ProtoCodecError(`${path}: ${(error as Error).message}`)
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ProtoCodecError(`${path || '/'}: not an object`)
  }
  const init: Obj = {}
  const given = json as Obj
  for (const field of desc.fields) {
    const value = given[field.jsonName] ?? given[field.name]
    if (value === undefined || value === null) continue
    const at = `${path}/${field.jsonName}`
    const converted = valueFromJson(field, value, at)
    if (field.oneof === undefined) {
      init[field.localName] = converted
      continue
    }
    if (init[field.oneof.localName] !== undefined) {
      throw new ProtoCodecError(`${at}: only one of ${field.oneof.fields.map((f) => f.jsonName).join(', ')} may be set`)
    }
    init[field.oneof.localName] = { case: field.localName, value: converted }
  }
  return create(desc, init as never) as unknown as T
}
