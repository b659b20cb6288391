import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { badKey } from './badKey.js'

// DER prefixes that wrap a raw Ed25519 key in SPKI / a raw seed in PKCS#8 (RFC 8410), so Node
// can import the base64-of-raw-bytes form without a hand-written Ed25519 implementation.
// Plain bytes, not Buffers: the main entry point is loaded on runtimes without Buffer too.
const bytesOfHex = (hex: string) => Uint8Array.from(hex.match(/../g)!, (byte) => Number.parseInt(byte, 16))
const SPKI_PREFIX = bytesOfHex('302a300506032b6570032100')
const PKCS8_PREFIX = bytesOfHex('302e020100300506032b657004220420')
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** A literal `\n` in an environment variable stands for a newline (docs/protocol.md §14.3). */
function normalize(text: string): string {
  return text.replace(/\\n/g, '\n').trim()
}

function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '')
  if (!BASE64.test(compact)) return undefined
  return Buffer.from(compact, 'base64')
}

function requireEd25519(key: KeyObject, variableName: string, kind: 'public' | 'private'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw badKey(variableName, kind, `it is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not Ed25519`)
  }
  return key
}

/**
 * Parses an Ed25519 public key: PEM SPKI (a literal `\n` allowed) or standard base64 of the raw
 * 32 bytes. Throws DSP2201 naming `variableName` (never the value) when the text is not one.
 *
 * @example
 * ```ts
 * const key = parsePublicKey(process.env.DISPATCH_VERIFICATION_KEY!, 'DISPATCH_VERIFICATION_KEY')
 * ```
 */
export function parsePublicKey(text: string, variableName: string): KeyObject {
  const normalized = normalize(text)
  if (normalized === '') throw badKey(variableName, 'public', 'it is empty')
  if (normalized.includes('-----BEGIN')) {
    // Node derives a public key from private PEM; refuse it so a secret is never configured where a public key goes.
    if (normalized.includes('PRIVATE KEY-----')) {
      throw badKey(variableName, 'public', 'it is a private key; give the public key (SPKI) instead')
    }
    let key: KeyObject
    try {
      key = createPublicKey({ key: normalized, format: 'pem' })
    } catch {
      throw badKey(variableName, 'public', 'the PEM text does not decode to a public key')
    }
    return requireEd25519(key, variableName, 'public')
  }
  const raw = decodeBase64(normalized)
  if (raw === undefined) throw badKey(variableName, 'public', 'it is neither PEM nor base64')
  if (raw.length !== 32) throw badKey(variableName, 'public', `its base64 decodes to ${raw.length} bytes, not 32`)
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

/**
 * Parses an Ed25519 private key: PEM PKCS#8 (a literal `\n` allowed) or standard base64 of the
 * 32-byte seed (the 64-byte seed‖public form is accepted too). Throws DSP2202 naming
 * `variableName` (never the value) when the text is not one.
 */
export function parsePrivateKey(text: string, variableName: string): KeyObject {
  const normalized = normalize(text)
  if (normalized === '') throw badKey(variableName, 'private', 'it is empty')
  if (normalized.includes('-----BEGIN')) {
    let key: KeyObject
    try {
      key = createPrivateKey({ key: normalized, format: 'pem' })
    } catch {
      throw badKey(variableName, 'private', 'the PEM text does not decode to a private key')
    }
    return requireEd25519(key, variableName, 'private')
  }
  const raw = decodeBase64(normalized)
  if (raw === undefined) throw badKey(variableName, 'private', 'it is neither PEM nor base64')
  if (raw.length !== 32 && raw.length !== 64) {
    throw badKey(variableName, 'private', `its base64 decodes to ${raw.length} bytes, not a 32-byte seed`)
  }
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  })
  // The 64-byte form (Go's ed25519.PrivateKey) carries the public key: a mismatch means a corrupt value.
  if (raw.length === 64) {
    const publicRaw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)
    if (!publicRaw.equals(raw.subarray(32))) {
      throw badKey(variableName, 'private', 'its last 32 bytes are not the public key of its seed')
    }
  }
  return key
}
