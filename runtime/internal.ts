/**
 * @module
 * dispatch-functions/internal: the pieces of the runtime that the tool package
 * (`dispatch-functions-tools`: the scheduler, the generator and the `dispatch` command) shares with
 * applications — request signing, the CallService client, duration options, the endpoint core (for
 * functions run in the scheduler's process and the test environment) and the runtime's clock. What
 * belongs to the protocol (durations and timestamps on the wire, the Run path, the error catalog
 * and `DispatchError`) is in `dispatch-functions/protocol`. It is not a public API: names here may
 * change in any release, and versions of the two packages move together.
 *
 * @example
 * ```ts
 * import { signRequest, toMilliseconds } from 'dispatch-functions/internal'
 * const ms = toMilliseconds('1.5s', 'timeout') // 1500
 * ```
 */

export type { DurationInput } from './client/callOptions.js'
export type { CallServiceClient } from './client/callService.js'
export { createCallServiceClient } from './client/callService.js'
export { toMilliseconds } from './client/duration.js'
export { toFlowOptions } from './client/flowDeclaration.js'
export type { ScheduleServiceClient } from './client/scheduleService.js'
export { createScheduleServiceClient } from './client/scheduleService.js'
export type { RuntimeClock } from './context/clock.js'
export { useClock } from './context/clock.js'
export { compileRoutes } from './endpoint/compileRoutes.js'
export type { Endpoint } from './endpoint/createEndpoint.js'
export type { MessageRunner } from './endpoint/createRunHandler.js'
export { createMessageRunner, createRunHandler } from './endpoint/createRunHandler.js'
export type { RunAnswer } from './endpoint/runAnswer.js'
export type { SignatureHeaders, SigningKeyPair, SignRequestInput } from './signing/index.js'
export {
  generateSigningKeyPair,
  parsePrivateKey,
  parsePublicKey,
  signRequest,
  signRequestAsync,
} from './signing/index.js'
export { contextOf, traceparentOf } from './tracing/traceContext.js'
