import { isInnerList } from 'structured-headers'
import { codedMessage } from '../../schemas/errors/codedMessage.js'
import { utf8Bytes } from '../portable/base64.js'
import { MAX_AGE_S, MAX_CLOCK_SKEW_S } from './components.js'
import type { ReplayCache } from './replayCache.js'
import { cachedSignatureInput, parse } from './signatureInput.js'
import {
  denied,
  OK,
  unauthenticated,
  type VerificationFailure,
  type VerificationResult,
} from './verificationFailure.js'

/** Header values as Node and Fastify hand them over: lower-case names. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

/** A request to verify, without the key (whose type depends on the crypto that checks it). */
export interface VerificationRequest {
  /** The request method, as received. */
  readonly method: string
  /**
   * The `@path` the signature must cover: the path without the query. An endpoint passes the path of
   * its own URL (see {@link signedTarget}), not the one received, so a request signed for another
   * endpoint does not verify.
   */
  readonly path: string
  /** The `@authority` the signature must cover (host[:port]), compared lower-case; as for `path`. */
  readonly authority: string
  readonly headers: RequestHeaders
  /** The raw body bytes, exactly as received. */
  readonly body: Uint8Array
  /** The verifier's clock in unix seconds; default now. */
  readonly now?: number
  /** Signatures accepted within the window: a verified signature found there is a replay (401). */
  readonly replayCache?: ReplayCache | undefined
}

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  // RFC 9421 §2.1: several field lines are combined with ", ", each value trimmed.
  return typeof value === 'string' ? value.trim() : value.map((v) => v.trim()).join(', ')
}

/** What is left to check once everything but the digest and the Ed25519 signature has been checked. */
export interface Prepared {
  /** The signature base, UTF-8. */
  readonly base: Uint8Array
  readonly signature: Uint8Array
  readonly now: number
  /** The covered `Content-Digest` value: the body must match it. */
  readonly contentDigest: string
}

function componentValue(input: VerificationRequest, component: string): string | undefined {
  switch (component) {
    case '@method':
      return input.method.toUpperCase()
    case '@path':
      return input.path
    case '@authority':
      return input.authority.toLowerCase()
    default:
      return component.startsWith('@') ? undefined : headerValue(input.headers, component)
  }
}

/**
 * Every check of docs/protocol.md §14.2 but the body's digest and the signature itself, cheapest first:
 * the same on every runtime, whatever crypto then checks the two.
 */
export function prepareVerification(input: VerificationRequest): Prepared | VerificationFailure {
  const signatureHeader = headerValue(input.headers, 'signature')
  const inputHeader = headerValue(input.headers, 'signature-input')
  if (!signatureHeader || !inputHeader) {
    return unauthenticated('the request is not signed: it needs both Signature-Input and Signature headers')
  }
  const read = cachedSignatureInput(inputHeader)
  if ('ok' in read) return read
  const { label, components, created } = read
  const signatures = parse(signatureHeader, 'Signature')
  if (!(signatures instanceof Map)) return signatures
  if (signatures.size !== 1) return denied(`exactly one signature is accepted; the request carries ${signatures.size}`)
  const signatureMember = signatures.get(label)
  if (signatureMember === undefined) return denied(`the Signature header has no signature labelled ${label}`)

  const now = input.now ?? Math.floor(Date.now() / 1000)
  if (created > now + MAX_CLOCK_SKEW_S) return denied('the signature was created in the future')
  if (created < now - MAX_AGE_S) return denied('the signature is too old (created more than 5 minutes ago)')
  const expires = read.expires
  if (expires !== undefined && (typeof expires !== 'number' || expires < now)) {
    return denied('the signature has expired')
  }

  if (isInnerList(signatureMember) || !(signatureMember[0] instanceof ArrayBuffer)) {
    return denied(`Signature ${label} is not a byte sequence`)
  }
  const signature = new Uint8Array(signatureMember[0])
  if (signature.length !== 64) return denied('the signature is not an Ed25519 signature (64 bytes)')

  let base = ''
  for (const component of components) {
    const value = componentValue(input, component)
    if (value === undefined) {
      return denied(
        component.startsWith('@')
          ? `component "${component}" is not supported`
          : `the signature covers "${component}", which the request lacks`,
      )
    }
    base += `"${component}": ${value}\n`
  }
  base += `"@signature-params": ${read.params}`
  // Covered (REQUIRED_COMPONENTS), so present: the body must match it.
  const contentDigest = headerValue(input.headers, 'content-digest')!
  return { base: utf8Bytes(base), signature, now, contentDigest }
}

/** The refusal of a signature that does not verify: callers may replace its message with a better one. */
export const BAD_SIGNATURE = denied('the signature does not verify with the verification key')

/** The refusal of a signature already accepted within its window. */
export const REPLAYED = unauthenticated(
  codedMessage(
    'DSP2242',
    'this signed request was already accepted within its five-minute window (a replay): every delivery of the scheduler is signed afresh, so the same signature is run once',
  ),
)

/** After the signature verified: the same signature bytes are accepted once per window. */
export function admitted(input: VerificationRequest, prepared: Prepared): VerificationResult {
  const cache = input.replayCache
  if (cache === undefined) return OK
  // The decoded bytes, not the header text: another spelling of the same signature is the same key.
  const key = String.fromCharCode(...prepared.signature)
  return cache.admit(key, prepared.now) ? OK : REPLAYED
}
