import { type Static, Type } from 'typebox'
import { ErrorMessage } from './error.js'
import { FlowOptions } from './flow.js'
import { Traceparent } from './traceparent.js'
import { AnyMessage, Duration, Uint64 } from './wellKnown.js'

/** Function names: the pattern of docs/protocol.md §3.1. */
export const FUNCTION_NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_<>.]*$'
export const FunctionName = Type.String({ pattern: FUNCTION_NAME_PATTERN, maxLength: 512 })

/** An http(s) URL (checked further by the receiver: only http: and https: are allowed). */
export const EndpointUrl = Type.String({ pattern: '^https?://', maxLength: 2048 })

/** `dispatch.sdk.v1.Call`: a function call to start. */
export const Call = Type.Object({
  correlationId: Type.Optional(Uint64),
  endpoint: Type.Optional(EndpointUrl),
  function: FunctionName,
  input: Type.Optional(AnyMessage),
  expiration: Type.Optional(Duration),
  version: Type.Optional(Type.String()),
  /** W3C trace context of the span that made the call (an extension: docs/protocol.md §16). */
  traceparent: Type.Optional(Traceparent),
  /**
   * Extension, read only in a Poll's calls: the child outlives its parent's exit (it is not
   * cancelled when the coroutine returns or fails). Ignored elsewhere (docs/protocol.md §12.5).
   */
  detached: Type.Optional(Type.Boolean()),
  /**
   * Extension, read only in a Poll's calls: the flow options the child's function declares, as a
   * DispatchCall carries them (docs/protocol.md §5, docs/flow-control.md).
   */
  flow: Type.Optional(FlowOptions),
})
export type Call = Static<typeof Call>

/** `dispatch.sdk.v1.CallResult`: the outcome of a call, echoed with its correlation id. */
export const CallResult = Type.Object({
  correlationId: Type.Optional(Uint64),
  output: Type.Optional(AnyMessage),
  error: Type.Optional(ErrorMessage),
  dispatchId: Type.Optional(Type.String()),
})
export type CallResult = Static<typeof CallResult>
