/**
 * @module
 * The context of the running dispatch call, carried by AsyncLocalStorage so handlers keep their
 * plain positional signatures.
 *
 * @example
 * ```ts
 * const { dispatchId, expirationTime, signal } = currentCall()
 * ```
 */
export { CallScope } from './callScope.js'
export type { CallContext } from './currentCall.js'
export { currentCall, findCurrentCall, runWithCall } from './currentCall.js'
