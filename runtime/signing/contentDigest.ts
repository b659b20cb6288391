import { createHash, timingSafeEqual } from 'node:crypto'
import { digestMembers } from './digestMembers.js'

/** `Content-Digest: sha-512=:<base64>:` of a body (RFC 9530), as the signer sends it. */
export function contentDigest(body: Uint8Array): string {
  return `sha-512=:${createHash('sha512').update(body).digest('base64')}:`
}

/**
 * Why a `Content-Digest` value does not vouch for `body`, or undefined when it does: every
 * sha-512/sha-256 member present must match byte for byte, and at least one must be present.
 */
export function contentDigestMismatch(header: string, body: Uint8Array): string | undefined {
  const members = digestMembers(header)
  if (typeof members === 'string') return members
  for (const { name, algorithm, value } of members) {
    const expected = createHash(algorithm === 'SHA-512' ? 'sha512' : 'sha256')
      .update(body)
      .digest()
    if (value.length !== expected.length || !timingSafeEqual(value, expected)) {
      return `the Content-Digest ${name} does not match the body`
    }
  }
  return undefined
}
