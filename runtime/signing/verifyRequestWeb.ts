import { digestMembers, sameBytes } from './digestMembers.js'
import { admitted, BAD_SIGNATURE, prepareVerification, type VerificationRequest } from './prepareVerification.js'
import { denied, type VerificationResult } from './verificationFailure.js'
import type { WebCryptoKey } from './webPublicKey.js'

export interface VerifyRequestWebInput extends VerificationRequest {
  /** A Web Crypto Ed25519 public key (see {@link importWebPublicKey}), or the promise of one. */
  readonly publicKey: WebCryptoKey | Promise<WebCryptoKey>
}

async function digestMismatch(header: string, body: Uint8Array): Promise<string | undefined> {
  const members = digestMembers(header)
  if (typeof members === 'string') return members
  for (const { name, algorithm, value } of members) {
    const expected = new Uint8Array(await globalThis.crypto.subtle.digest(algorithm, body))
    if (!sameBytes(value, expected)) return `the Content-Digest ${name} does not match the body`
  }
  return undefined
}

/**
 * {@link verifyRequest} through Web Crypto (`crypto.subtle`: SHA digests and Ed25519), for runtimes
 * without Node's crypto: the same checks in the same order, the same answers.
 */
export async function verifyRequestWeb(input: VerifyRequestWebInput): Promise<VerificationResult> {
  const prepared = prepareVerification(input)
  if ('ok' in prepared) return prepared
  const mismatch = await digestMismatch(prepared.contentDigest, input.body)
  if (mismatch !== undefined) return denied(mismatch)
  // A key that cannot be imported (a runtime without Ed25519 in Web Crypto) rejects here: the
  // endpoint's failure, answered 500 with the cause in its log, not the request's.
  const publicKey = await input.publicKey
  let valid: boolean
  try {
    valid = await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, publicKey, prepared.signature, prepared.base)
  } catch {
    valid = false
  }
  return valid ? admitted(input, prepared) : BAD_SIGNATURE
}
