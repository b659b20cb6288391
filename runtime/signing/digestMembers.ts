import { isInnerList, parseDictionary } from 'structured-headers'

/** A digest of the body a `Content-Digest` header vouches for, with its Web Crypto algorithm name. */
export interface DigestMember {
  /** The RFC 9530 name (`sha-512`, `sha-256`). */
  readonly name: string
  readonly algorithm: 'SHA-512' | 'SHA-256'
  readonly value: Uint8Array
}

// The algorithms a verifier accepts, by their RFC 9530 names.
const ALGORITHMS: ReadonlyMap<string, DigestMember['algorithm']> = new Map([
  ['sha-512', 'SHA-512'],
  ['sha-256', 'SHA-256'],
])

/**
 * The sha-512/sha-256 members of a `Content-Digest` value (others are ignored), or why the header
 * cannot vouch for a body: not a dictionary, a member that is not bytes, or neither algorithm.
 * Framework- and runtime-neutral: the digests themselves are computed by the caller.
 */
export function digestMembers(header: string): readonly DigestMember[] | string {
  let members: ReturnType<typeof parseDictionary>
  try {
    members = parseDictionary(header)
  } catch {
    return 'the Content-Digest header is not a structured-field dictionary'
  }
  const found: DigestMember[] = []
  for (const [name, member] of members) {
    const algorithm = ALGORITHMS.get(name)
    if (algorithm === undefined) continue
    const value = isInnerList(member) ? undefined : member[0]
    if (!(value instanceof ArrayBuffer)) return `the Content-Digest ${name} member is not a byte sequence`
    found.push({ name, algorithm, value: new Uint8Array(value) })
  }
  return found.length === 0 ? 'the Content-Digest header has neither a sha-512 nor a sha-256 digest' : found
}

/** Whether two byte strings are equal, in time that depends only on their lengths. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}
