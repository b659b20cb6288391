/**
 * @module
 * Durable coroutines: inside a running dispatch function, `.call(...)` of a generated client is a
 * durable call, and these helpers fan out, race and sleep durably. The endpoint replays the
 * function against a journal carried in the Poll state.
 *
 * @example
 * ```ts
 * const users = await all(ids.map((id) => dispatchClient.getUser.call(id)))
 * await sleep('10m')
 * ```
 */
export { all, allSettled, any, now, patched, race, random, sleep, uuid } from './durable.js'
export type { StepContext, StepFunction, StepOptions } from './runStep.js'
export { step } from './step.js'
export type { WaitForSignalOptions } from './waitForSignal.js'
export { waitForSignal } from './waitForSignal.js'
