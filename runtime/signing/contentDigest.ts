import { createHash, timingSafeEqual } from 'node:crypto'
import { isInnerList, parseDictionary } from 'structured-headers'

/** `Content-Digest: sha-512=:<base64>:` of a body (RFC 9530), as the signer sends it. */
export function contentDigest(body: Uint8Array): string {
  return `sha-512=:${createHash('sha512').update(body).digest('base64')}:`
}

// The algorithms a verifier accepts, by their RFC 9530 names.
const ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['sha-512', 'sha512'],
  ['sha-256', 'sha256'],
])

/**
 * Why a `Content-Digest` value does not vouch for `body`, or undefined when it does: every
 * sha-512/sha-256 member present must match byte for byte, and at least one must be present.
 */
export function contentDigestMismatch(header: string, body: Uint8Array): string | undefined {
  let members: ReturnType<typeof parseDictionary>
  try {
    members = parseDictionary(header)
  } catch {
    return 'the Content-Digest header is not a structured-field dictionary'
  }
  let checked = 0
  for (const [name, member] of members) {
    const algorithm = ALGORITHMS.get(name)
    if (algorithm === undefined) continue
    const value = isInnerList(member) ? undefined : member[0]
    if (!(value instanceof ArrayBuffer)) return `the Content-Digest ${name} member is not a byte sequence`
    const expected = createHash(algorithm).update(body).digest()
    const given = new Uint8Array(value)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return `the Content-Digest ${name} does not match the body`
    }
    checked++
  }
  return checked === 0 ? 'the Content-Digest header has neither a sha-512 nor a sha-256 digest' : undefined
}
