import type { Status } from '../../schemas/status.js'
import type { EndpointOptions } from '../endpoint/endpointOptions.js'

/** Options of {@link createNodeHandler}: the endpoint's options (each overrides its `DISPATCH_*` variable). */
export interface NodeHandlerOptions extends EndpointOptions {
  /** Told about each failed run, for the application's log (default: one line on stderr). */
  readonly onFailure?: (functionName: string, status: Status, error: unknown) => void
  /**
   * Told each warning about a run that did not fail, its message starting with its DSP code: a
   * coroutine that carried on after its turn suspended (DSP2267). Default: one line on stderr.
   */
  readonly onWarning?: (functionName: string, message: string) => void
}
