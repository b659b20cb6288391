import type { DspCode } from './errorCatalog.js'

/**
 * `CODE: text`: how a catalogued code travels where no {@link DispatchError} is thrown (a Connect
 * error's message, a warning on stderr), so that the code is checked against the catalog too.
 */
export function codedMessage(code: DspCode, text: string): string {
  return `${code}: ${text}`
}
