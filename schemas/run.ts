import { type Static, Type } from 'typebox'
import { Call, CallResult, FunctionName } from './call.js'
import { ErrorMessage } from './error.js'
import { Status } from './status.js'
import { Traceparent } from './traceparent.js'
import { AnyMessage, Bytes, Duration, Timestamp } from './wellKnown.js'

/** `dispatch.sdk.v1.PollResult`: the coroutine state handed back with the results so far. */
export const PollResult = Type.Object({
  coroutineState: Type.Optional(Bytes),
  typedCoroutineState: Type.Optional(AnyMessage),
  results: Type.Optional(Type.Array(CallResult)),
  error: Type.Optional(ErrorMessage),
})
export type PollResult = Static<typeof PollResult>

/**
 * The most calls one Poll may start, and the most results one turn may be handed (docs/protocol.md
 * §12.1): as many as one Dispatch batch, so a fan-out of that size is one Poll and one resumed turn.
 */
export const MAX_POLL_CALLS = 10_000

/** `dispatch.sdk.v1.Poll`: suspend the coroutine until results of `calls` arrive. */
export const Poll = Type.Object({
  coroutineState: Type.Optional(Bytes),
  typedCoroutineState: Type.Optional(AnyMessage),
  calls: Type.Optional(Type.Array(Call, { maxItems: MAX_POLL_CALLS })),
  maxWait: Type.Optional(Duration),
  minResults: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POLL_CALLS })),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POLL_CALLS })),
})
export type Poll = Static<typeof Poll>

/**
 * `dispatch.sdk.v1.Exit`: the run is over; optionally replace it with a tail call. `result` may be
 * absent (proto3 leaves an empty message out): an exit without output, or a tail call alone.
 */
export const Exit = Type.Object({
  result: Type.Optional(CallResult),
  tailCall: Type.Optional(Call),
})
export type Exit = Static<typeof Exit>

/**
 * `dispatch.sdk.v1.RunRequest` (docs/protocol.md §3.3): the scheduler asks the endpoint to run a function
 * (one of `input`, `pollResult`).
 */
export const RunRequest = Type.Object({
  function: FunctionName,
  input: Type.Optional(AnyMessage),
  pollResult: Type.Optional(PollResult),
  dispatchId: Type.Optional(Type.String()),
  parentDispatchId: Type.Optional(Type.String()),
  rootDispatchId: Type.Optional(Type.String()),
  creationTime: Type.Optional(Timestamp),
  expirationTime: Type.Optional(Timestamp),
  /** W3C trace context the call was dispatched with (an extension: docs/protocol.md §16). */
  traceparent: Type.Optional(Traceparent),
})
export type RunRequest = Static<typeof RunRequest>

/** `dispatch.sdk.v1.RunResponse` (docs/protocol.md §3.4): the endpoint's answer (one of `exit`, `poll`). */
export const RunResponse = Type.Object({
  status: Status,
  exit: Type.Optional(Exit),
  poll: Type.Optional(Poll),
})
export type RunResponse = Static<typeof RunResponse>
