import { type Static, Type } from 'typebox'
import { ErrorMessage } from './error.js'
import { Status } from './status.js'
import { AnyMessage, Duration, Timestamp } from './wellKnown.js'

/**
 * The scheduler's own service (docs/protocol.md §7), beside `dispatch.sdk.v1.DispatchService`: inspect, wait for,
 * list, cancel and redrive calls, and read its stats. Connect unary JSON at `POST <api>/dispatch.scheduler.v1.CallService/<Method>`,
 * with the same bearer key as Dispatch.
 */
export const CALL_SERVICE_PATH = '/dispatch.scheduler.v1.CallService'

/** Where a call is in its life. `succeeded`, `failed` and `cancelled` are terminal. */
export const CallState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('suspended'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
])
export type CallState = Static<typeof CallState>
export const TERMINAL_STATES: ReadonlySet<CallState> = new Set<CallState>(['succeeded', 'failed', 'cancelled'])

/** What the scheduler knows of one call. */
export const CallInfo = Type.Object({
  dispatchId: Type.String(),
  function: Type.String(),
  endpoint: Type.String(),
  state: CallState,
  /** The status of the last attempt, if any. */
  status: Type.Optional(Status),
  attempts: Type.Integer({ minimum: 0 }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  nextAttemptAt: Type.Optional(Timestamp),
  expiresAt: Type.Optional(Timestamp),
  fairnessKey: Type.Optional(Type.String()),
  idempotencyKey: Type.Optional(Type.String()),
  parentDispatchId: Type.Optional(Type.String()),
  rootDispatchId: Type.Optional(Type.String()),
  /** The call's priority (docs/flow-control.md), when it is not the default 0. */
  priority: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The per-key concurrency limit of its function and the call's key ('' for the function-wide key; docs/flow-control.md). */
  concurrency: Type.Optional(Type.Object({ key: Type.String(), limit: Type.Integer({ minimum: 1 }) })),
  /** The rate limit of its function and the call's key ('' for the function-wide key; docs/flow-control.md). */
  rateLimit: Type.Optional(
    Type.Object({ key: Type.String(), limit: Type.Integer({ minimum: 1 }), periodMs: Type.Integer({ minimum: 1 }) }),
  ),
  /**
   * The debounce it was dispatched with (docs/flow-control.md): its key ('' for the function-wide
   * key), the input it keeps, its window, the latest it may start (with a max wait), and how many
   * dispatches collapsed into it, itself included.
   */
  debounce: Type.Optional(
    Type.Object({
      key: Type.String(),
      keep: Type.Union([Type.Literal('last'), Type.Literal('first')]),
      windowMs: Type.Integer({ minimum: 1 }),
      until: Type.Optional(Timestamp),
      dispatches: Type.Integer({ minimum: 1 }),
    }),
  ),
  /**
   * Get only, for a pending call: why it has not started yet — `delayed` (its delay or notBefore),
   * `backoff` (before a retry), `queued` (due, waiting for a slot among the calls of its queue, in
   * priority order), `concurrency` (due, its key at its concurrency limit or next in line for it) or
   * `rate_limited` (due, its key at its rate limit or next in line for it; docs/flow-control.md);
   * or `debounced` (a debounced call whose window has not ended: a call of its key dispatched
   * before `nextAttemptAt` collapses into it).
   */
  waiting: Type.Optional(
    Type.Union([
      Type.Literal('delayed'),
      Type.Literal('backoff'),
      Type.Literal('queued'),
      Type.Literal('concurrency'),
      Type.Literal('rate_limited'),
      Type.Literal('debounced'),
    ]),
  ),
  /** A durable coroutine: results of its children waiting for its next turn. */
  resultsWaiting: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Restarts from its input after INCOMPATIBLE_STATE; they count as attempts. */
  restarts: Type.Optional(Type.Integer({ minimum: 0 })),
  input: Type.Optional(AnyMessage),
  output: Type.Optional(AnyMessage),
  error: Type.Optional(ErrorMessage),
  /** List only: the input was left out for its size (this many bytes of JSON); Get returns it. */
  inputBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  /** List only: the output was left out for its size (this many bytes of JSON); Get returns it. */
  outputBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  /** List only: the error was left out for its size (this many bytes of JSON); Get returns it. */
  errorBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Get only: the W3C trace id the call was dispatched in (docs/protocol.md §16), when it had one. */
  traceId: Type.Optional(Type.String()),
})
export type CallInfo = Static<typeof CallInfo>

export const GetCallRequest = Type.Object({ dispatchId: Type.String({ minLength: 1 }) })
export type GetCallRequest = Static<typeof GetCallRequest>
/**
 * One attempt in a call's history: when it started and finished, its status, what the scheduler made
 * of it (`succeeded`, `failed`, `retry`, `tailCall`, `poll`: a coroutine turn that suspended,
 * `restart`) and its error, the message cut to an excerpt.
 */
export const AttemptInfo = Type.Object({
  attempt: Type.Integer({ minimum: 0 }),
  startedAt: Timestamp,
  finishedAt: Timestamp,
  status: Status,
  outcome: Type.Union([
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('retry'),
    Type.Literal('tailCall'),
    Type.Literal('poll'),
    Type.Literal('restart'),
  ]),
  error: Type.Optional(ErrorMessage),
})
export type AttemptInfo = Static<typeof AttemptInfo>

/** The call and, when the store keeps one, its attempt history (the last 20 attempts, oldest first). */
export const GetCallResponse = Type.Object({ call: CallInfo, attempts: Type.Optional(Type.Array(AttemptInfo)) })
export type GetCallResponse = Static<typeof GetCallResponse>

/**
 * Long poll: answers when the call is terminal or `timeout` (default 30s, at most 5m) passes. A timeout
 * that is negative or over 3650 days is refused, like every Duration the scheduler takes.
 */
export const WaitCallRequest = Type.Object({
  dispatchId: Type.String({ minLength: 1 }),
  timeout: Type.Optional(Duration),
})
export type WaitCallRequest = Static<typeof WaitCallRequest>
export const WaitCallResponse = Type.Object({ call: CallInfo, done: Type.Boolean() })
export type WaitCallResponse = Static<typeof WaitCallResponse>

/** Which calls a List or a bulk Cancel/Redrive is about: every field given must match. */
const callFilterFields = {
  state: Type.Optional(CallState),
  function: Type.Optional(Type.String()),
  endpoint: Type.Optional(Type.String()),
  fairnessKey: Type.Optional(Type.String()),
  /** The children a coroutine started. */
  parentDispatchId: Type.Optional(Type.String({ minLength: 1 })),
  /** Calls created at or after this instant. */
  createdAfter: Type.Optional(Timestamp),
  /** Calls created before this instant. */
  createdBefore: Type.Optional(Timestamp),
  /** The call with this dispatch id, or the calls dispatched with this idempotency key (exact match). */
  search: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
}

export const ListCallsRequest = Type.Object({
  ...callFilterFields,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  /** Opaque cursor from a previous answer's `nextCursor`. */
  cursor: Type.Optional(Type.String()),
})
export type ListCallsRequest = Static<typeof ListCallsRequest>
export const ListCallsResponse = Type.Object({ calls: Type.Array(CallInfo), nextCursor: Type.Optional(Type.String()) })
export type ListCallsResponse = Static<typeof ListCallsResponse>

/** Cancel a call that is not terminal (and, with coroutines, its running children). */
export const CancelCallRequest = Type.Object({ dispatchId: Type.String({ minLength: 1 }) })
export type CancelCallRequest = Static<typeof CancelCallRequest>
/** Run a failed or cancelled call again from its original input, with a fresh attempt budget. */
export const RedriveCallRequest = Type.Object({ dispatchId: Type.String({ minLength: 1 }) })
export type RedriveCallRequest = Static<typeof RedriveCallRequest>
/**
 * Send a signal to a live call (docs/protocol.md §7): a coroutine waiting with `waitForSignal(name)`
 * resumes with `payload`; one that does not wait yet keeps it until it does.
 */
export const SignalCallRequest = Type.Object({
  dispatchId: Type.String({ minLength: 1 }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  /** Any JSON value; absent for none. */
  payload: Type.Optional(Type.Unknown()),
})
export type SignalCallRequest = Static<typeof SignalCallRequest>
/** The `@type` of a signal as it travels to the coroutine: a result without a child whose output is this Any. */
export const SIGNAL_TYPE_URL = 'type.dispatch-functions.dev/dispatch.functions.v1.Signal'

/**
 * Cancel (`CancelMany`) or redrive (`RedriveMany`) the calls that match a filter (at least one field),
 * a page at a time: one request looks at up to `limit` matching calls (default 500), newest first, and
 * changes those that can change (cancel: pending, running, suspended; redrive: failed, cancelled);
 * `nextCursor` says to send it again with that cursor. `dryRun` changes nothing and counts what would
 * change, so a client can ask for confirmation first.
 */
export const BulkCallsRequest = Type.Object({
  ...callFilterFields,
  dryRun: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  cursor: Type.Optional(Type.String()),
})
export type BulkCallsRequest = Static<typeof BulkCallsRequest>
export const BulkCallsResponse = Type.Object({
  /** Calls of this page that match and can change (with `dryRun`: would change). */
  matched: Type.Integer({ minimum: 0 }),
  /** Calls this request changed (0 with `dryRun`; fewer than `matched` when some changed meanwhile). */
  changed: Type.Integer({ minimum: 0 }),
  nextCursor: Type.Optional(Type.String()),
})
export type BulkCallsResponse = Static<typeof BulkCallsResponse>

export const CallResponse = Type.Object({ call: CallInfo })
export type CallResponse = Static<typeof CallResponse>

/** How the scheduler copes with its load now; an empty request. On PostgreSQL: the node that answers. */
export const GetStatsRequest = Type.Object({})
export type GetStatsRequest = Static<typeof GetStatsRequest>

/** Calls of one function in one state (`retrying`: pending calls whose last attempt failed). */
export const CallCount = Type.Object({
  function: Type.String(),
  state: CallState,
  count: Type.Integer({ minimum: 0 }),
  retrying: Type.Integer({ minimum: 0 }),
})
export type CallCount = Static<typeof CallCount>

/** One endpoint origin's adaptive concurrency: the limit now, its bounds, and the attempts in flight. */
export const EndpointStats = Type.Object({
  endpoint: Type.String(),
  limit: Type.Integer({ minimum: 0 }),
  min: Type.Integer({ minimum: 0 }),
  max: Type.Integer({ minimum: 0 }),
  inFlight: Type.Integer({ minimum: 0 }),
})
export type EndpointStats = Static<typeof EndpointStats>

export const GetStatsResponse = Type.Object({
  calls: Type.Array(CallCount),
  /** Per endpoint origin this scheduler has delivered to (empty when adaptive concurrency is off). */
  endpoints: Type.Array(EndpointStats),
  /** Attempts in flight on this scheduler, over all endpoints. */
  inFlight: Type.Integer({ minimum: 0 }),
  /** Pending and running calls as back-pressure counts them (absent when back-pressure is off). */
  unfinishedCalls: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Accepted calls waiting for their commit (absent without group commit). */
  queuedCalls: Type.Optional(Type.Integer({ minimum: 0 })),
})
export type GetStatsResponse = Static<typeof GetStatsResponse>

/**
 * Delete finished calls (succeeded, failed, cancelled) last changed more than `olderThan` ago, as
 * retention does: calls whose parent or root is still live are kept. One request deletes a bounded
 * number; `more` says to send it again.
 */
export const PurgeCallsRequest = Type.Object({ olderThan: Duration })
export type PurgeCallsRequest = Static<typeof PurgeCallsRequest>
export const PurgeCallsResponse = Type.Object({
  deleted: Type.Integer({ minimum: 0 }),
  more: Type.Optional(Type.Boolean()),
})
export type PurgeCallsResponse = Static<typeof PurgeCallsResponse>
