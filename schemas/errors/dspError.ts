import { DispatchError, type DispatchErrorOptions } from './dispatchError.js'
import { type DspCode, ERROR_CATALOG } from './errorCatalog.js'

/**
 * A {@link DispatchError} raised from the catalog: `message` names the specifics (what, where),
 * the hint and the HTTP status are the catalog's unless `options` gives more specific ones.
 *
 * @example
 * ```ts
 * throw dspError('DSP2210', 'currentCall() was called outside a running dispatch function')
 * ```
 */
export function dspError(code: DspCode, message: string, options: DispatchErrorOptions = {}): DispatchError {
  const error = new DispatchError(code, message, { ...options, hint: options.hint ?? ERROR_CATALOG[code].hint })
  // The stack starts where the error is raised, not here.
  Error.captureStackTrace?.(error, dspError)
  return error
}
