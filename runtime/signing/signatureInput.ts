import { type Dictionary, isInnerList, parseDictionary, serializeInnerList } from 'structured-headers'
import { KEY_ID, REQUIRED_COMPONENTS } from './components.js'
import { denied, unauthenticated, type VerificationFailure } from './verificationFailure.js'

/** Parses a structured-field dictionary header, or says which header is malformed (403). */
export function parse(header: string, name: string): Dictionary | VerificationFailure {
  try {
    return parseDictionary(header)
  } catch {
    return denied(`the ${name} header is not a structured-field dictionary`)
  }
}

/** What a `Signature-Input` value says, once checked for everything that does not depend on the clock. */
export interface SignatureInput {
  readonly label: string
  readonly components: readonly string[]
  readonly created: number
  readonly expires: unknown
  /** The `@signature-params` line of the base: the inner list re-serialized (RFC 9421 §2.3). */
  readonly params: string
}

function readSignatureInput(header: string): SignatureInput | VerificationFailure {
  const inputs = parse(header, 'Signature-Input')
  if (!(inputs instanceof Map)) return inputs
  if (inputs.size === 0) return unauthenticated('the request carries no signature')
  if (inputs.size !== 1) return denied(`exactly one signature is accepted; the request carries ${inputs.size}`)
  const [label, member] = inputs.entries().next().value as [string, Dictionary extends Map<string, infer V> ? V : never]
  if (!isInnerList(member)) return denied(`Signature-Input ${label} is not a list of components`)
  const [items, params] = member

  const keyid = params.get('keyid')
  if (keyid !== KEY_ID) return unauthenticated(`unknown key id: the signature must use keyid="${KEY_ID}"`)

  const components: string[] = []
  for (const [name, componentParams] of items) {
    if (typeof name !== 'string') return denied('Signature-Input lists a component that is not a string')
    if (componentParams.size > 0) return denied(`component "${name}" has parameters, which are not supported`)
    if (components.includes(name)) return denied(`component "${name}" is listed twice`)
    components.push(name)
  }
  for (const required of REQUIRED_COMPONENTS) {
    if (!components.includes(required)) return unauthenticated(`the signature does not cover "${required}"`)
  }

  const alg = params.get('alg')
  if (alg !== undefined && alg !== 'ed25519') return denied('the signature algorithm must be ed25519')

  const created = params.get('created')
  if (created === undefined) return denied('the signature has no created timestamp')
  if (typeof created !== 'number' || !Number.isInteger(created)) return denied('created is not an integer')
  return { label, components, created, expires: params.get('expires'), params: serializeInnerList(member) }
}

// A scheduler signs every delivery of the same second with the same Signature-Input bytes, so the
// parsed and checked value is kept for the few most recent headers. Results depend only on the
// header text (the clock is checked after), so a cached entry is never wrong, only reused.
const inputCache = new Map<string, SignatureInput | VerificationFailure>()
const INPUT_CACHE_SIZE = 64

// The header most recently looked up: consecutive deliveries of one scheduler share it (but for
// their nonce), and comparing two strings is cheaper than hashing one for the Map.
let lastHeader = ''
let lastEntry: SignatureInput | VerificationFailure | undefined

function cachedByHeader(header: string): SignatureInput | VerificationFailure {
  if (lastEntry !== undefined && header === lastHeader) return lastEntry
  let entry = inputCache.get(header)
  if (entry === undefined) {
    entry = readSignatureInput(header)
    if (inputCache.size >= INPUT_CACHE_SIZE) inputCache.delete(inputCache.keys().next().value!)
    inputCache.set(header, entry)
  }
  lastHeader = header
  lastEntry = entry
  return entry
}

const NONCE_PARAM = ';nonce="'
const NONCE_TEXT = /^[A-Za-z0-9_-]{1,64}$/

/**
 * The checked `Signature-Input`, from a small cache by header text. Every signature of this
 * package's signer ends with its own `nonce` parameter, which would make every header new: that
 * trailing parameter is set aside for the cache lookup and added back to the signature parameters
 * exactly as a full parse would serialize it.
 */
export function cachedSignatureInput(header: string): SignatureInput | VerificationFailure {
  const at = header.lastIndexOf(NONCE_PARAM)
  if (at !== -1 && header.charCodeAt(header.length - 1) === 0x22) {
    const nonce = header.slice(at + NONCE_PARAM.length, -1)
    if (NONCE_TEXT.test(nonce)) {
      const same = lastEntry !== undefined && at === lastHeader.length && header.startsWith(lastHeader)
      const read = same ? lastEntry! : cachedByHeader(header.slice(0, at))
      if ('ok' in read) return read
      return { ...read, params: `${read.params}${NONCE_PARAM}${nonce}"` }
    }
  }
  return cachedByHeader(header)
}
