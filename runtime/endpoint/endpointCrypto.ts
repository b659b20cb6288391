import type { VerificationRequest } from '../signing/prepareVerification.js'
import type { VerificationResult } from '../signing/verificationFailure.js'

/** Checks the signature of one request (everything of docs/protocol.md §14.2). */
export type RequestVerify = (request: VerificationRequest) => VerificationResult | Promise<VerificationResult>

/**
 * The crypto an endpoint verifies with: Node's (`node:crypto`, for the Fastify and node:http
 * adapters) or Web Crypto (for the fetch adapter, on any runtime). The endpoint's core knows only
 * this interface, so the fetch adapter's module graph reaches no Node crypto.
 */
export interface EndpointCrypto<Key> {
  /** The key of the `verificationKey` option or DISPATCH_VERIFICATION_KEY text; throws DSP2201. */
  readonly parseKey: (text: string, where: string) => Key
  /** A key given as an object (not text) in the `verificationKey` option, as this crypto uses it. */
  readonly adoptKey: (given: object) => Key
  /** The check of a request's signature with `key` (`offThread`: off the event loop where possible). */
  readonly verifier: (key: Key, offThread: boolean) => RequestVerify
}
