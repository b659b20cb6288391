import { createRegistry } from '@bufbuild/protobuf'
import {
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt'

/**
 * The message types an `Any` may hold and still be shown as JSON: the well-known types whose JSON
 * mapping needs no other schema (`google.protobuf.Value` carries this project's inputs and outputs).
 */
export const wellKnownTypes = createRegistry(
  file_google_protobuf_struct,
  file_google_protobuf_wrappers,
  file_google_protobuf_duration,
  file_google_protobuf_timestamp,
  file_google_protobuf_empty,
)

/**
 * The key under which an `Any` of another type carries its serialized message, standard base64, in
 * JSON: `{"@type": "buf.build/…/Pickled", "@bytes": "CgR…"}` (docs/protocol.md §2).
 */
export const OPAQUE_BYTES_KEY = '@bytes'
