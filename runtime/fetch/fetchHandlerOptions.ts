import type { Status } from '../../schemas/status.js'
import type { EndpointOptions } from '../endpoint/endpointOptions.js'
import type { WebCryptoKey } from '../signing/webPublicKey.js'

/** A Node KeyObject, as the fetch adapter accepts it on Node without naming Node's types. */
export interface ExportablePublicKey {
  export(options: { format: 'der'; type: 'spki' }): Uint8Array
}

/**
 * Options of {@link createFetchHandler}: the endpoint's options (each overrides its `DISPATCH_*`
 * environment variable, where the runtime has environment variables), with the key also as a Web
 * Crypto `CryptoKey`.
 */
export interface FetchHandlerOptions
  extends Omit<EndpointOptions<WebCryptoKey | ExportablePublicKey>, 'verifyOffThread'> {
  /**
   * Told about each failed run, for the application's log (default: one line on stderr, or the
   * console where there is no stderr).
   */
  readonly onFailure?: (functionName: string, status: Status, error: unknown) => void
  /**
   * Told each warning about a run that did not fail, its message starting with its DSP code: a
   * coroutine that carried on after its turn suspended (DSP2267). Default: one line on stderr.
   */
  readonly onWarning?: (functionName: string, message: string) => void
}
