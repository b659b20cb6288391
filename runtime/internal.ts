/**
 * @module
 * dispatch-functions/internal: the pieces of the runtime that the tool package
 * (`dispatch-functions-tools`: the scheduler, the generator and the `dispatch` command) shares with
 * applications — request signing, durations on the wire, the Run path, the CallService client and
 * the error base class. It is not a public API: names here may change in any release, and versions
 * of the two packages move together.
 *
 * @example
 * ```ts
 * import { DispatchError, fromProtoDuration } from 'dispatch-functions/internal'
 * const ms = fromProtoDuration('1.5s') // 1500
 * ```
 */

export type { Checked } from '../schemas/duration.js'
export {
  checkProtoDuration,
  checkTimestamp,
  fromProtoDuration,
  MAX_DURATION_MS,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  toProtoDuration,
  toTimestamp,
} from '../schemas/duration.js'
export type { DispatchErrorOptions } from '../schemas/errors/dispatchError.js'
export { DispatchError } from '../schemas/errors/dispatchError.js'
export { RUN_PATH, runUrl } from '../schemas/runUrl.js'
export type { DurationInput } from './client/callOptions.js'
export type { CallServiceClient } from './client/callService.js'
export { createCallServiceClient } from './client/callService.js'
export { toMilliseconds } from './client/duration.js'
export { clockNow, useClock } from './context/clock.js'
export { compileRoutes } from './endpoint/compileRoutes.js'
export type { Endpoint, EndpointHooks } from './endpoint/createEndpoint.js'
export { createEndpoint } from './endpoint/createEndpoint.js'
export type { RunHandlerOptions, RunHttpRequest } from './endpoint/createRunHandler.js'
export { createRunHandler } from './endpoint/createRunHandler.js'
export type { EndpointOptions } from './endpoint/endpointOptions.js'
export type { SignatureHeaders, SigningKeyPair, SignRequestInput } from './signing/index.js'
export { generateSigningKeyPair, parsePrivateKey, parsePublicKey, signRequest } from './signing/index.js'
