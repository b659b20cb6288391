// The endpoint's path runs on Node and on runtimes without Buffer (Workers, browsers-like
// targets): Buffer is used where the runtime has one (it is faster), else TextEncoder and btoa/atob.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The UTF-8 bytes of `text`. */
export function utf8Bytes(text: string): Uint8Array {
  return NodeBuffer === undefined ? encoder.encode(text) : NodeBuffer.from(text)
}

/** The text of UTF-8 `bytes` (invalid sequences become U+FFFD, as Buffer does). */
export function utf8Text(bytes: Uint8Array): string {
  return NodeBuffer === undefined
    ? decoder.decode(bytes)
    : NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
}

/** How many bytes `text` takes in UTF-8. */
export function utf8Length(text: string): number {
  return NodeBuffer === undefined ? encoder.encode(text).byteLength : NodeBuffer.byteLength(text)
}

/** Standard base64 (with padding) of `bytes`. */
export function base64OfBytes(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

/** Standard base64 of the UTF-8 bytes of `text`. */
export function base64OfText(text: string): string {
  return NodeBuffer === undefined ? base64OfBytes(encoder.encode(text)) : NodeBuffer.from(text).toString('base64')
}

/**
 * The bytes of base64 `text`, lenient as Buffer is (whitespace and missing padding allowed,
 * characters outside the alphabet skipped, base64url accepted).
 */
export function bytesOfBase64(text: string): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, 'base64')
  const compact = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .replace(/[^A-Za-z0-9+/]/g, '')
  const padded = compact.length % 4 === 1 ? compact.slice(0, -1) : compact
  const binary = atob(padded + '='.repeat((4 - (padded.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
