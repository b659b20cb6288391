import type { CallOptions } from './callOptions.js'
import type { ClientOptions } from './clientConfig.js'
import type { FlowDeclaration } from './flowDeclaration.js'

/** A call prepared by `dispatchClient.f.build(...)`, to be sent in a batch by `dispatchBatch`. */
export interface BuiltCall<Output = unknown> {
  readonly function: string
  readonly args: readonly unknown[]
  readonly options: CallOptions
  readonly client: ClientOptions
  /** The flow options the function declares (`@priority`, ...), sent with the call. */
  readonly flow?: FlowDeclaration
  /** Carries the output type for `.call` and typed batches; never set at run time. */
  readonly __output?: Output
}
