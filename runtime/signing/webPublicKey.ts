import { bytesOfBase64 } from '../portable/base64.js'
import { badKey } from './badKey.js'

// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): an SPKI key is this and the raw 32 bytes.
const SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function rawOfSpki(der: Uint8Array): Uint8Array | undefined {
  if (der.length !== SPKI_PREFIX.length + 32) return undefined
  for (let i = 0; i < SPKI_PREFIX.length; i++) if (der[i] !== SPKI_PREFIX[i]) return undefined
  return der.subarray(SPKI_PREFIX.length)
}

/**
 * The raw 32 bytes of an Ed25519 public key given as PEM SPKI (a literal `\n` allowed) or standard
 * base64 of the raw bytes: the forms {@link parsePublicKey} reads, without Node's crypto. Throws
 * DSP2201 naming `variableName` (never the value) when the text is not one.
 */
export function publicKeyBytes(text: string, variableName: string): Uint8Array {
  const normalized = text.replace(/\\n/g, '\n').trim()
  if (normalized === '') throw badKey(variableName, 'public', 'it is empty')
  if (normalized.includes('-----BEGIN')) {
    if (normalized.includes('PRIVATE KEY-----')) {
      throw badKey(variableName, 'public', 'it is a private key; give the public key (SPKI) instead')
    }
    const body = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(normalized)?.[1]
    const raw = body === undefined ? undefined : rawOfSpki(bytesOfBase64(body.replace(/\s+/g, '')))
    if (raw === undefined) throw badKey(variableName, 'public', 'the PEM text does not decode to an Ed25519 public key')
    return raw
  }
  const compact = normalized.replace(/\s+/g, '')
  if (!BASE64.test(compact)) throw badKey(variableName, 'public', 'it is neither PEM nor base64')
  const raw = bytesOfBase64(compact)
  if (raw.length !== 32) throw badKey(variableName, 'public', `its base64 decodes to ${raw.length} bytes, not 32`)
  return raw
}

/** A Web Crypto key (`CryptoKey`), named without the DOM library. */
export type WebCryptoKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>

/** A Web Crypto Ed25519 key (Node 20, Bun, Deno, Workers), imported from its raw bytes for verifying. */
export function importWebPublicKey(raw: Uint8Array): Promise<WebCryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
}
