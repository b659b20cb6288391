import { type Static, Type } from 'typebox'
import { Call } from './call.js'
import { FlowOptions, Priority } from './flow.js'
import { Duration, Timestamp } from './wellKnown.js'

/**
 * A call submitted to DispatchService (docs/protocol.md §5): the protocol's `Call` plus this scheduler's options
 * (extra fields that the hosted Dispatch did not have; a client that sends none of them speaks
 * plain `dispatch.sdk.v1`).
 */
export const DispatchCall = Type.Object({
  ...Call.properties,
  /** The same key within the retention window returns the first call's id and stores nothing. */
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  /** Do not run before this much time has passed. */
  delay: Type.Optional(Duration),
  /** Do not run before this instant. */
  notBefore: Type.Optional(Timestamp),
  /** Give up after this many attempts (default: the function's or the scheduler's). */
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  /** The tenant this call is fair-scheduled under. */
  fairnessKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  /** This call's priority (docs/flow-control.md): wins over the function's declared one and the scheduler's config. */
  priority: Type.Optional(Priority),
  /** The flow options the function declares (docs/protocol.md §5), sent by the generated client. */
  flow: Type.Optional(FlowOptions),
})
export type DispatchCall = Static<typeof DispatchCall>

/** `dispatch.sdk.v1.DispatchRequest`: an atomic batch of calls. */
export const DispatchRequest = Type.Object({
  calls: Type.Array(DispatchCall, { minItems: 1, maxItems: 10_000 }),
})
export type DispatchRequest = Static<typeof DispatchRequest>

/** `dispatch.sdk.v1.DispatchResponse`: the ids, in the order of the calls. */
export const DispatchResponse = Type.Object({
  dispatchIds: Type.Array(Type.String()),
})
export type DispatchResponse = Static<typeof DispatchResponse>

/** The Connect JSON error body of a request refused before a function runs. */
export const ConnectError = Type.Object({
  code: Type.String(),
  message: Type.String(),
})
export type ConnectError = Static<typeof ConnectError>
