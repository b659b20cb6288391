import { type KeyObject, verify } from 'node:crypto'
import { contentDigestMismatch } from './contentDigest.js'
import { admitted, BAD_SIGNATURE, prepareVerification, type VerificationRequest } from './prepareVerification.js'
import { denied, type VerificationFailure, type VerificationResult } from './verificationFailure.js'

export type { RequestHeaders } from './prepareVerification.js'
export { BAD_SIGNATURE } from './prepareVerification.js'
export type { VerificationFailure, VerificationResult } from './verificationFailure.js'

export interface VerifyRequestInput extends VerificationRequest {
  /** From {@link parsePublicKey}, parsed once at start-up. */
  readonly publicKey: KeyObject
}

// Every check but the signature itself; the digest with Node's hashes.
function prepare(input: VerifyRequestInput) {
  const prepared = prepareVerification(input)
  if ('ok' in prepared) return prepared
  const mismatch = contentDigestMismatch(prepared.contentDigest, input.body)
  return mismatch === undefined ? prepared : (denied(mismatch) as VerificationFailure)
}

/**
 * Verifies a signed request exactly as docs/protocol.md §14.2 describes (RFC 9421 Ed25519 + RFC 9530
 * Content-Digest): components rebuilt in the order `Signature-Input` lists them; `created` required,
 * at most 5 s ahead and 5 min 5 s old; `keyid="default"`; `alg` ed25519 if present; coverage of
 * `@method @path @authority content-type content-digest`; a sha-512 or sha-256 digest matching the
 * body; exactly one signature. With a `replayCache`, a signature already accepted is a replay.
 * Missing signature, unknown key, incomplete coverage or a replay → 401, anything else → 403.
 *
 * @example
 * ```ts
 * const result = verifyRequest({ method, path, authority: req.headers.host!, headers: req.headers, body, publicKey })
 * if (!result.ok) reply.code(result.httpStatus).send({ code: result.code, message: result.message })
 * ```
 */
export function verifyRequest(input: VerifyRequestInput): VerificationResult {
  const prepared = prepare(input)
  if ('ok' in prepared) return prepared
  return verify(null, prepared.base, input.publicKey, prepared.signature) ? admitted(input, prepared) : BAD_SIGNATURE
}

/**
 * {@link verifyRequest} with the Ed25519 check on libuv's thread pool, so a busy endpoint does not
 * spend its event loop on signature arithmetic.
 */
export function verifyRequestAsync(input: VerifyRequestInput): Promise<VerificationResult> {
  const prepared = prepare(input)
  if ('ok' in prepared) return Promise.resolve(prepared)
  return new Promise((resolve) => {
    verify(null, prepared.base, input.publicKey, prepared.signature, (error, valid) => {
      resolve(error === null && valid ? admitted(input, prepared) : BAD_SIGNATURE)
    })
  })
}
