import { type KeyObject, randomBytes, sign } from 'node:crypto'
import { KEY_ID, REQUIRED_COMPONENTS, SIGNATURE_LABEL } from './components.js'
import { contentDigest } from './contentDigest.js'
import { signedTarget } from './signedTarget.js'

export interface SignRequestInput {
  readonly method: string
  /** The full URL the request goes to; `@path` and `@authority` come from it. */
  readonly url: string
  readonly headers: { readonly 'content-type': string }
  readonly body: Uint8Array | string
  /** From {@link parsePrivateKey}, parsed once. */
  readonly privateKey: KeyObject
  /** Unix seconds; default now. */
  readonly created?: number
  /**
   * The signature's `nonce` parameter (letters, digits, `-` and `_`); default a value unique to this
   * process and signature. `false` leaves it out (to reproduce a signature of another signer).
   */
  readonly nonce?: string | false
}

/** The headers a signed request adds. */
export interface SignatureHeaders {
  'content-digest': string
  'signature-input': string
  signature: string
}

const COMPONENT_LIST = `(${REQUIRED_COMPONENTS.map((c) => `"${c}"`).join(' ')})`
const PARAMS_SUFFIX = `;keyid="${KEY_ID}";alg="ed25519"`

// Every signature gets its own nonce, so two deliveries of the same bytes within the same second
// (a retry after a fast failure) are two different signatures and an endpoint's replay cache never
// takes the second for a replay. A random prefix per process and a counter: unique, and free.
const NONCE_PREFIX = randomBytes(12).toString('base64url')
let nonceCounter = 0
const NONCE_TEXT = /^[A-Za-z0-9_-]{1,64}$/

function nonceParam(nonce: string | false | undefined): string {
  if (nonce === false) return ''
  if (nonce === undefined) return `;nonce="${NONCE_PREFIX}${(nonceCounter++).toString(36)}"`
  if (!NONCE_TEXT.test(nonce)) throw new TypeError('a signature nonce is 1 to 64 letters, digits, "-" or "_"')
  return `;nonce="${nonce}"`
}

interface Target {
  readonly base: string
}

// A scheduler signs many deliveries to few endpoints: the `@path`/`@authority` part of the base is
// cached per URL so the per-delivery work is one SHA-512 and one Ed25519 signature.
const targets = new Map<string, Target>()
const MAX_TARGETS = 1024

function targetOf(url: string): Target {
  let target = targets.get(url)
  if (target === undefined) {
    const { authority, path } = signedTarget(url)
    target = { base: `"@path": ${path}\n"@authority": ${authority}\n` }
    if (targets.size >= MAX_TARGETS) targets.clear()
    targets.set(url, target)
  }
  return target
}

/**
 * Signs a request as the scheduler delivers it (docs/protocol.md §14.1): RFC 9530 `Content-Digest` (sha-512)
 * and an RFC 9421 Ed25519 signature labelled `dispatch` over `@method @path @authority
 * content-type content-digest`, with a `nonce` that makes every signature unique. Returns the
 * headers to add.
 *
 * @example
 * ```ts
 * const key = parsePrivateKey(process.env.DISPATCH_SIGNING_KEY!, 'DISPATCH_SIGNING_KEY')
 * const body = JSON.stringify(runRequest)
 * const headers = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, privateKey: key })
 * await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })
 * ```
 */
export function signRequest(input: SignRequestInput): SignatureHeaders {
  const prepared = prepareSignature(input)
  return headersOf(prepared, sign(null, prepared.base, input.privateKey))
}

/**
 * {@link signRequest} with the Ed25519 signature computed on libuv's thread pool: the same headers
 * (Ed25519 is deterministic), but the calling thread spends about a third of the time on it, so a
 * scheduler that delivers thousands of calls a second signs on another core while it goes on
 * delivering.
 */
export function signRequestAsync(input: SignRequestInput): Promise<SignatureHeaders> {
  const prepared = prepareSignature(input)
  return new Promise((resolve, reject) => {
    sign(null, prepared.base, input.privateKey, (error, signature) => {
      if (error === null) resolve(headersOf(prepared, signature))
      else reject(error)
    })
  })
}

interface PreparedSignature {
  readonly digest: string
  readonly params: string
  /** The signature base (RFC 9421 §2.5), to sign. */
  readonly base: Buffer
}

function prepareSignature(input: SignRequestInput): PreparedSignature {
  const body = typeof input.body === 'string' ? Buffer.from(input.body) : input.body
  const digest = contentDigest(body)
  const created = input.created ?? Math.floor(Date.now() / 1000)
  const params = `${COMPONENT_LIST};created=${created}${PARAMS_SUFFIX}${nonceParam(input.nonce)}`
  const base =
    `"@method": ${input.method.toUpperCase()}\n` +
    targetOf(input.url).base +
    `"content-type": ${input.headers['content-type'].trim()}\n` +
    `"content-digest": ${digest}\n` +
    `"@signature-params": ${params}`
  return { digest, params, base: Buffer.from(base) }
}

function headersOf(prepared: PreparedSignature, signature: Buffer): SignatureHeaders {
  return {
    'content-digest': prepared.digest,
    'signature-input': `${SIGNATURE_LABEL}=${prepared.params}`,
    signature: `${SIGNATURE_LABEL}=:${signature.toString('base64')}:`,
  }
}
