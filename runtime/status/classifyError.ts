import type { Status } from '../../schemas/status.js'
import { CallFailedError } from '../client/callFailedError.js'
import { FunctionError } from '../errors/functionError.js'
import { SignalTimeoutError } from '../errors/signalTimeoutError.js'
import { StepFailedError } from '../errors/stepFailedError.js'
import { type ErrorClass, type ErrorClassifier, registeredClassifiers } from './errorClassifier.js'

// Node and undici error codes: the default table of docs/protocol.md §9.2.
const CODE_STATUS: ReadonlyMap<string, Status> = new Map<string, Status>([
  ['ECONNREFUSED', 'STATUS_TCP_ERROR'],
  ['ECONNRESET', 'STATUS_TCP_ERROR'],
  ['ECONNABORTED', 'STATUS_TCP_ERROR'],
  ['EPIPE', 'STATUS_TCP_ERROR'],
  ['EHOSTUNREACH', 'STATUS_TCP_ERROR'],
  ['ENETUNREACH', 'STATUS_TCP_ERROR'],
  ['UND_ERR_SOCKET', 'STATUS_TCP_ERROR'],
  ['ENOTFOUND', 'STATUS_DNS_ERROR'],
  ['EAI_AGAIN', 'STATUS_DNS_ERROR'],
  ['ETIMEDOUT', 'STATUS_TIMEOUT'],
  ['ESOCKETTIMEDOUT', 'STATUS_TIMEOUT'],
  ['UND_ERR_CONNECT_TIMEOUT', 'STATUS_TIMEOUT'],
  ['UND_ERR_HEADERS_TIMEOUT', 'STATUS_TIMEOUT'],
  ['UND_ERR_BODY_TIMEOUT', 'STATUS_TIMEOUT'],
  ['ABORT_ERR_TIMEOUT', 'STATUS_TIMEOUT'],
  ['EACCES', 'STATUS_PERMISSION_DENIED'],
  ['EPERM', 'STATUS_PERMISSION_DENIED'],
  ['ENOENT', 'STATUS_NOT_FOUND'],
])

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_')
}

function field(error: unknown, name: string): unknown {
  try {
    return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined
  } catch {
    return undefined
  }
}

/** The default table for one error, without looking at its cause. */
function defaultStatusOf(error: unknown, expired: boolean): Status | undefined {
  if (error instanceof FunctionError) return error.status
  // A coroutine's child that failed had used up its own retries: retrying the parent replays the same failure.
  if (error instanceof CallFailedError && error.durable) return 'STATUS_PERMANENT_ERROR'
  // So did a durable step; and a retried turn would run it again, its failure not yet journaled.
  if (error instanceof StepFailedError) return 'STATUS_PERMANENT_ERROR'
  // A replay would time out the same way.
  if (error instanceof SignalTimeoutError) return 'STATUS_PERMANENT_ERROR'
  const name = field(error, 'name')
  // AbortSignal.timeout() rejects with a DOMException named TimeoutError; an abort is a timeout
  // when the call's own expiration signal fired.
  if (name === 'TimeoutError') return 'STATUS_TIMEOUT'
  if (name === 'AbortError' && expired) return 'STATUS_TIMEOUT'
  const code = field(error, 'code')
  if (typeof code === 'string') {
    const status = CODE_STATUS.get(code)
    if (status !== undefined) return status
    if (isTlsCode(code)) return 'STATUS_TLS_ERROR'
  }
  return undefined
}

/** The user's classification, most specific class first (walking the prototype chain). */
function userStatusOf(
  error: unknown,
  classifiers: ReadonlyMap<ErrorClass, ErrorClassifier['status']>,
): Status | undefined {
  const global = registeredClassifiers()
  if (classifiers.size === 0 && global.size === 0) return undefined
  if (typeof error !== 'object' || error === null) return undefined
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const ctor = proto.constructor as ErrorClass
    // A FunctionError's explicit status beats classifications of its base classes.
    if (ctor === FunctionError) return undefined
    const classify = classifiers.get(ctor) ?? global.get(ctor)
    if (classify === undefined) continue
    const status = typeof classify === 'function' ? classify(error) : classify
    if (status !== undefined) return status
  }
  return undefined
}

/** Options of {@link classifyError}. */
export interface ClassifyOptions {
  /** Classifications by error class that win over the registered ones and the defaults. */
  readonly classifiers?: ReadonlyMap<ErrorClass, ErrorClassifier['status']>
  /** True when the call's expiration signal has fired: an AbortError is then a timeout. */
  readonly expired?: boolean
}

/**
 * The status of a failed call for what its function threw: the user's classifiers first (by error
 * class, most specific first), then {@link FunctionError}'s status, then the default table over the
 * error and its `cause` chain (`fetch` wraps socket errors): ECONNREFUSED/ECONNRESET → TCP,
 * ENOTFOUND/EAI_AGAIN → DNS, TLS errors → TLS, timeouts and an AbortError after expiration →
 * TIMEOUT, EACCES/EPERM → PERMISSION_DENIED, ENOENT → NOT_FOUND; anything else → TEMPORARY_ERROR
 * (a plain TypeError or RangeError too: throw {@link InvalidArgumentError} to say the arguments
 * are wrong, since the engine throws those for bugs as well).
 */
export function classifyError(error: unknown, options: ClassifyOptions = {}): Status {
  const expired = options.expired ?? false
  const user = userStatusOf(error, options.classifiers ?? EMPTY)
  if (user !== undefined) return user
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const status = defaultStatusOf(current, expired)
    if (status !== undefined) return status
    current = field(current, 'cause')
  }
  return 'STATUS_TEMPORARY_ERROR'
}

const EMPTY: ReadonlyMap<ErrorClass, ErrorClassifier['status']> = new Map()
