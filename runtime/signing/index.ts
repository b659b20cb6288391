/**
 * @module
 * Request signing between the scheduler and the endpoint (docs/protocol.md §14): RFC 9421 HTTP Message
 * Signatures with Ed25519 and RFC 9530 `Content-Digest`. The scheduler signs each delivery with
 * {@link signRequest}; the endpoint checks it with {@link verifyRequest}. Keys are parsed once.
 *
 * @example
 * ```ts
 * const { privateKeyPem, publicKeyPem } = generateSigningKeyPair()
 * const headers = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, privateKey: parsePrivateKey(privateKeyPem, 'DISPATCH_SIGNING_KEY') })
 * const result = verifyRequest({ method: 'POST', path, authority, headers: { ...headers, 'content-type': 'application/json' }, body, publicKey: parsePublicKey(publicKeyPem, 'DISPATCH_VERIFICATION_KEY') })
 * ```
 */
export { KEY_ID, MAX_AGE_S, MAX_CLOCK_SKEW_S, REQUIRED_COMPONENTS, SIGNATURE_LABEL } from './components.js'
export { contentDigest, contentDigestMismatch } from './contentDigest.js'
export type { SigningKeyPair } from './generateSigningKeyPair.js'
export { generateSigningKeyPair } from './generateSigningKeyPair.js'
export { parsePrivateKey, parsePublicKey } from './parseKey.js'
export { DEFAULT_REPLAY_CACHE_ENTRIES, ReplayCache } from './replayCache.js'
export type { SignedTarget } from './signedTarget.js'
export { signedTarget } from './signedTarget.js'
export type { SignatureHeaders, SignRequestInput } from './signRequest.js'
export { signRequest, signRequestAsync } from './signRequest.js'
export type {
  RequestHeaders,
  VerificationFailure,
  VerificationResult,
  VerifyRequestInput,
} from './verifyRequest.js'
export { BAD_SIGNATURE, verifyRequest, verifyRequestAsync } from './verifyRequest.js'
