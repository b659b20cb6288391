import { dspError } from '../../schemas/errors/dspError.js'
import type { Status } from '../../schemas/status.js'
import { type EndpointMetrics, endpointMetricsFor } from '../metrics/endpointMetrics.js'
import { environmentVariable } from '../portable/environment.js'
import { DEFAULT_REPLAY_CACHE_ENTRIES, ReplayCache } from '../signing/replayCache.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { compileRoutes } from './compileRoutes.js'
import { createRunHandler, type RunHttpRequest } from './createRunHandler.js'
import type { EndpointCrypto } from './endpointCrypto.js'
import { DEFAULT_BODY_LIMIT, type EndpointOptions } from './endpointOptions.js'
import { resolveEndpointTarget } from './endpointTarget.js'
import { resolveVerificationKey, warnVerificationOff } from './resolveVerificationKey.js'
import { connectError, type RunAnswer } from './runAnswer.js'

/** An endpoint ready to serve, whatever framework carries its requests. */
export interface Endpoint<Key> {
  /** Answers one Run request; never throws (a failure is an answer). */
  readonly handle: (request: RunHttpRequest) => Promise<RunAnswer>
  /** The largest body accepted, in bytes: an adapter refuses longer bodies before reading them. */
  readonly bodyLimit: number
  /** The scheduler's key when requests must be signed; undefined with `verificationKey: false`. */
  readonly publicKey: Key | undefined
  /** Told of each answer an adapter gives before {@link handle} (counts unsigned requests). */
  readonly refusedBeforeBody: (answer: RunAnswer) => void
}

/** Callbacks through which an endpoint reports to its framework's logger. */
export interface EndpointHooks {
  /** Told once when verification is off (`verificationKey: false`). */
  readonly onVerificationOff?: () => void
  /** Told about each failed run. */
  readonly onFailure?: (functionName: string, status: Status, error: unknown) => void
  /** Told each warning about a run that did not fail (DSP-coded); default: a line on stderr. */
  readonly onWarning?: (functionName: string, message: string) => void
}

/** The answer to a request without both signature headers, while signatures are required. */
export const UNSIGNED = connectError(
  401,
  'unauthenticated',
  'the request is not signed: it needs both Signature-Input and Signature headers',
)

/** The answer to a request without a Content-Length: its body would be read without a known bound. */
export const MISSING_LENGTH = connectError(
  400,
  'invalid_argument',
  'the request has no Content-Length; send the body with a length',
)

/** The answer to a body over {@link Endpoint.bodyLimit}. */
export function bodyTooLarge(bodyLimit: number): RunAnswer {
  return connectError(400, 'invalid_argument', `the body is over the limit of ${bodyLimit} bytes`)
}

function replayCacheOf(option: EndpointOptions['replayCache']): ReplayCache | undefined {
  if (option === false) return undefined
  const entries = option ?? DEFAULT_REPLAY_CACHE_ENTRIES
  if (!Number.isInteger(entries) || entries <= 0) {
    throw dspError('DSP2209', `replayCache must be a positive integer number of entries or false, not ${entries}`, {
      hint: `leave it out for the default (${DEFAULT_REPLAY_CACHE_ENTRIES}), or pass false to turn the replay check off`,
    })
  }
  return new ReplayCache(entries)
}

/**
 * Checks an endpoint's options and builds its framework-neutral core: the route table compiled, the
 * verification key, this endpoint's own URL and the replay cache resolved. Fails closed: without a
 * verification key (unless `verificationKey: false`), without this endpoint's URL while verifying,
 * or with an unusable key, URL, limit or route schema, it throws a DispatchError (DSP22xx) instead
 * of serving. `framework` names the caller in the errors (`dispatchPlugin`, ...); `crypto` is the
 * crypto signatures are checked with (Node's, or Web Crypto for the fetch adapter).
 */
export function createEndpoint<Key>(
  options: EndpointOptions<object>,
  framework: string,
  hooks: EndpointHooks,
  crypto: EndpointCrypto<Key>,
): Endpoint<Key> {
  if (options === undefined || options === null || typeof options.routes !== 'object' || options.routes === null) {
    throw dspError('DSP2205', `${framework} needs a route table: register it with { routes }`, {
      hint: "import { routes } from './dispatch.gen/routes.gen.js' (npm run dispatch:gen writes it)",
    })
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0) {
    throw dspError('DSP2205', `bodyLimit must be a positive integer number of bytes, not ${bodyLimit}`)
  }
  const maxJournalBytes = options.maxJournalBytes
  if (maxJournalBytes !== undefined && (!Number.isInteger(maxJournalBytes) || maxJournalBytes <= 0)) {
    throw dspError('DSP2205', `maxJournalBytes must be a positive integer number of bytes, not ${maxJournalBytes}`, {
      hint: 'leave it out for the default (8 MiB), which keeps resumed turns inside the 16 MiB request limit',
    })
  }
  const publicKey = resolveVerificationKey(options.verificationKey, crypto, framework)
  if (publicKey === undefined) {
    warnVerificationOff()
    hooks.onVerificationOff?.()
  }
  const target = publicKey === undefined ? undefined : resolveEndpointTarget(options.endpointUrl, framework)
  const replayCache = publicKey === undefined ? undefined : replayCacheOf(options.replayCache)
  const metrics = options.metrics === undefined ? undefined : endpointMetricsFor(options.metrics, framework)
  const classifiers = new Map<ErrorClass, ErrorClassifier['status']>()
  for (const classifier of options.classifiers ?? []) classifiers.set(classifier.error, classifier.status)

  const handle = createRunHandler({
    routes: compileRoutes(options.routes),
    verify: publicKey === undefined ? undefined : crypto.verifier(publicKey, options.verifyOffThread ?? false),
    target,
    replayCache,
    classifiers,
    endpoint:
      options.endpoint ??
      (typeof options.endpointUrl === 'string' ? options.endpointUrl : undefined) ??
      (environmentVariable('DISPATCH_ENDPOINT_URL') || undefined),
    maxJournalBytes,
    ...(hooks.onFailure === undefined ? {} : { onFailure: hooks.onFailure }),
    ...(hooks.onWarning === undefined ? {} : { onWarning: hooks.onWarning }),
    metrics,
  })
  return { handle, bodyLimit, publicKey, refusedBeforeBody: refusalCounter(metrics) }
}

const NOTHING_COUNTED = () => {}

function refusalCounter(metrics: EndpointMetrics | undefined): (answer: RunAnswer) => void {
  if (metrics === undefined) return NOTHING_COUNTED
  return (answer) => {
    if (answer === UNSIGNED) metrics.refused('unsigned')
  }
}
