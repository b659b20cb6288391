import type { AnyMessage, CallResult, CallState, ErrorMessage, Status } from 'dispatch-functions/protocol'

/**
 * What a store persists and returns. Times are milliseconds since the epoch; messages (`input`,
 * `output`, `error`) are stored as JSON and handed back as the same objects.
 */

/** A queue of calls that fair scheduling treats as one: (endpoint, function, fairness key). */
export interface QueueKey {
  readonly endpoint: string
  readonly function: string
  readonly fairnessKey: string | undefined
}

/** A queue's backlog: its due calls and the earliest due time among them. */
export interface QueueBacklog extends QueueKey {
  /** Calls due now (pending, expired leases, due coroutines): what the queue has waiting. */
  readonly due: number
  /** The earliest due time among them. */
  readonly oldestDueAt: number
}

/** A call to record, as the Dispatch API accepted it (ids are chosen by the scheduler). */
export interface NewCall {
  readonly dispatchId: string
  readonly function: string
  readonly endpoint: string
  readonly input: AnyMessage | undefined
  readonly version: string | undefined
  readonly correlationId: string | undefined
  readonly createdAt: number
  /** The first attempt is due at this instant. */
  readonly dueAt: number
  readonly expiresAt: number | undefined
  /** The relative expiration the call was dispatched with, to recompute `expiresAt` on redrive. */
  readonly expirationMs: number | undefined
  readonly maxAttempts: number
  readonly fairnessKey: string | undefined
  readonly idempotencyKey: string | undefined
  readonly parentDispatchId: string | undefined
  readonly rootDispatchId: string | undefined
  /** W3C trace context the call was dispatched with (docs/protocol.md §16); sent with every attempt. */
  readonly traceparent?: string | undefined
  /** A child that outlives its parent's exit: not cancelled with the parent's other children (a Poll's `detached`). */
  readonly detached?: boolean
  /**
   * The call's priority, 0 to 100 (docs/flow-control.md); 0 when absent. Kept for inspection: its
   * effect, a head start, is already in `dueAt`.
   */
  readonly priority?: number
  /**
   * Per-key concurrency (docs/flow-control.md): at most `limit` calls of this function with this
   * `key` running at once, across every node. Only {@link Store.claimCapped} claims such a call.
   */
  readonly concurrency?: { readonly key: string; readonly limit: number }
  /**
   * Rate limit (docs/flow-control.md): at most `limit` starts of this function with this `key` per
   * `periodMs`, across every node. Only {@link Store.claimCapped} claims such a call.
   */
  readonly rateLimit?: { readonly key: string; readonly limit: number; readonly periodMs: number }
  /**
   * Debounce (docs/flow-control.md): {@link Store.insertCalls} collapses this call into the pending,
   * never started call of its function, endpoint and `key` when there is one (see {@link NewDebounce}).
   */
  readonly debounce?: NewDebounce
}

/**
 * How a debounced call is recorded. When a pending call of the same function, endpoint and key has
 * never started, the new call is not stored: that call takes its `dueAt` (one window after it; no
 * later than the pending call's `until`), the later of their expirations, and with `keep` `last`
 * the new call's input and version; the new call's id answers with the pending call's. Otherwise the
 * call is stored, the first of its window.
 */
export interface NewDebounce {
  readonly key: string
  readonly keep: 'last' | 'first'
  /** The window, for inspection: its effect is already in `dueAt`. */
  readonly windowMs: number
  /** The latest due time of the call this one starts (its dispatch plus the max wait); none without a max. */
  readonly until: number | undefined
}

/**
 * A coroutine's state as its Poll carried it: `coroutineState` (base64) or `typedCoroutineState`
 * (an Any), whichever came (neither when the Poll had none). Handed back verbatim in the PollResult.
 */
export interface CoroutineState {
  readonly coroutineState?: string
  readonly typedCoroutineState?: AnyMessage
}

/** What a suspended coroutine waits with, from its last Poll. */
export interface StoredPoll {
  readonly state: CoroutineState
  /** Resume once this many results are waiting (1..maxResults). */
  readonly minResults: number
  /** Hand at most this many results to one turn (1..1000). */
  readonly maxResults: number
  /** Resume at this instant at the latest (the Poll's `maxWait` after it); undefined: no deadline. */
  readonly deadline: number | undefined
  /** Set when none of the Poll's calls could be dispatched: sent as `pollResult.error`. */
  readonly error: ErrorMessage | undefined
}

/** A child's outcome waiting for its parent; `seq` grows in arrival order. */
export interface StoredResult {
  readonly seq: number
  readonly result: CallResult
}

/** A call as stored. */
export interface StoredCall {
  readonly dispatchId: string
  readonly function: string
  readonly endpoint: string
  readonly input: AnyMessage | undefined
  readonly version: string | undefined
  readonly correlationId: string | undefined
  readonly state: CallState
  /** The status of the last recorded attempt. */
  readonly status: Status | undefined
  /** Attempts started (a claim counts one, whether or not its outcome was recorded). */
  readonly attempts: number
  readonly maxAttempts: number
  readonly createdAt: number
  readonly updatedAt: number
  /** Pending: when the next attempt is due. Running: when its lease expires. Terminal: undefined. */
  readonly dueAt: number | undefined
  readonly expiresAt: number | undefined
  readonly expirationMs: number | undefined
  readonly fairnessKey: string | undefined
  readonly idempotencyKey: string | undefined
  readonly parentDispatchId: string | undefined
  readonly rootDispatchId: string | undefined
  readonly output: AnyMessage | undefined
  readonly error: ErrorMessage | undefined
  /** Who holds the running attempt's lease. */
  readonly leaseOwner: string | undefined
  /** What the call was dispatched as (tail calls replace function, endpoint and input; redrive restores these). */
  readonly originFunction: string
  readonly originEndpoint: string
  readonly originInput: AnyMessage | undefined
  /**
   * Set from a Poll until the call exits, restarts, tail-calls or is redriven; a claimed
   * call with it is a resumed coroutine turn (`pollResult` instead of `input`).
   */
  readonly poll: StoredPoll | undefined
  /**
   * Claims fill it for a call with {@link poll}: up to `maxResults` waiting results, oldest first.
   * Empty from every other read (see `resultsWaiting`).
   */
  readonly results: readonly StoredResult[]
  /** Results of children waiting for this call (not yet consumed by a turn). */
  readonly resultsWaiting: number
  /** Bumped by a restart, a tail call and a redrive: results of children from earlier epochs are dropped. */
  readonly epoch: number
  /** INCOMPATIBLE_STATE restarts since the call (or its tail call, or its redrive) began; they count as attempts. */
  readonly restarts: number
  /** W3C trace context the call was dispatched with (docs/protocol.md §16); sent with every attempt. */
  readonly traceparent?: string | undefined
  /** The priority it was dispatched with (docs/flow-control.md); 0 by default. */
  readonly priority: number
  /** Its per-key concurrency limit, when its function has one (docs/flow-control.md). */
  readonly concurrency?: { readonly key: string; readonly limit: number } | undefined
  /** Its rate limit, when its function has one (docs/flow-control.md). */
  readonly rateLimit?: { readonly key: string; readonly limit: number; readonly periodMs: number } | undefined
  /** Its debounce, when it was dispatched with one (docs/flow-control.md): `dispatches` counts the calls collapsed into it, itself included. */
  readonly debounce?: StoredDebounce | undefined
}

/** A debounced call's options and how many dispatches it stands for. */
export interface StoredDebounce {
  readonly key: string
  readonly keep: 'last' | 'first'
  readonly windowMs: number
  readonly until: number | undefined
  readonly dispatches: number
}

export interface InsertOptions {
  readonly now: number
  /** An idempotency key seen within this many milliseconds returns the first call's id. */
  readonly idempotencyWindowMs: number
  /**
   * Told once, synchronously, when the calls are committed but before the write is durable (the
   * SQLite store syncs its WAL after the commit): delivery may start them then, while the caller
   * still waits for the insert to resolve before it hands out their ids. A store whose commit is
   * its durability need not call it: the caller then goes on when the insert resolves.
   */
  readonly onCommitted?: ((results: readonly InsertResult[]) => void) | undefined
}

/**
 * One inserted call: its id, and whether it is new or an idempotent repeat of an earlier one (or a
 * debounced call collapsed into a pending one: the id is that call's).
 */
export interface InsertResult {
  readonly dispatchId: string
  readonly inserted: boolean
}

export interface ClaimRequest {
  readonly now: number
  readonly limit: number
  /** Names this scheduler process; completions must present it. */
  readonly owner: string
  /** The lease lasts this long; after it another claim may take the call again (at least once). */
  readonly leaseMs: number
  /** Serve only this queue (fair scheduling picks the queue); all queues when absent. */
  readonly queue?: QueueKey
}

/**
 * A claim of capped calls ({@link Store.claimCapped}) with the turns of fair scheduling among the
 * queues waiting on one key (docs/flow-control.md): the j-th waiting call of a queue ranks at
 * `offset + j * cost`, lowest first, ties by due time; a queue not named in `turns` has offset 0, and
 * a fairness key not in `costs` cost 1. Without either, queues take equal turns from the same start.
 */
export interface CappedClaimRequest extends ClaimRequest {
  /** How far behind the others each queue starts: what it was served in earlier claims. */
  readonly turns?: readonly CappedTurn[]
  /** The cost of one call by fairness key: 1 / its weight. */
  readonly costs?: Readonly<Record<string, number>>
}

/** One queue's place in a {@link CappedClaimRequest}. */
export interface CappedTurn {
  readonly queue: QueueKey
  readonly offset: number
}

/** One queue's share of a {@link QueueClaimRequest}. */
export interface QueueClaim {
  readonly queue: QueueKey
  readonly limit: number
}

/** Claims from several queues in one transaction (fair scheduling decides the shares). */
export interface QueueClaimRequest {
  readonly now: number
  readonly owner: string
  readonly leaseMs: number
  readonly queues: readonly QueueClaim[]
}

interface CompletionBase {
  readonly dispatchId: string
  /** The attempt number the claim returned (`attempts` of the claimed call). */
  readonly attempt: number
  readonly owner: string
  readonly now: number
  readonly status: Status
  /** When the attempt began; its entry in the call's attempt history starts at `now` without it. */
  readonly startedAt?: number
  /**
   * Set on the exit (succeeded, failed, tail call) of a coroutine's resumed turn: in the same
   * transaction its unfinished descendants are cancelled — except its detached children and the
   * trees below them (docs/protocol.md §12.5).
   */
  readonly coroutine?: boolean
}

/**
 * The outcome of one attempt, decided by the scheduler and applied by the store only when the
 * claim still holds (the call is running, with this attempt and owner); otherwise it is stale.
 *
 * In the same transaction: a call that becomes terminal (succeeded, failed; and cancelled,
 * see `cancelCall`) and was started by a Poll records a CallResult for its parent — unless the parent
 * is terminal or has moved to another epoch — and a suspended parent whose waiting results reach its
 * `minResults` becomes due now. A terminal call's own waiting results are deleted; a tail call clears
 * the coroutine state and results and bumps the epoch; a retry keeps them (the next attempt gets them again).
 */
export type Completion =
  | (CompletionBase & {
      readonly kind: 'succeeded' | 'failed'
      readonly output: AnyMessage | undefined
      readonly error: ErrorMessage | undefined
    })
  | (CompletionBase & { readonly kind: 'retry'; readonly dueAt: number; readonly error: ErrorMessage | undefined })
  | (CompletionBase & {
      readonly kind: 'tailCall'
      readonly function: string
      readonly endpoint: string
      readonly input: AnyMessage | undefined
      readonly version: string | undefined
      readonly expiresAt: number | undefined
      readonly expirationMs: number | undefined
    })
  /**
   * The attempt answered a Poll. Stores the state, consumes the results the attempt was given,
   * inserts the children (their parent is this call, their `parentEpoch` its epoch), and suspends the
   * call: due now when `resultsWaiting >= minResults` (or `poll.error` is set), else at the earlier of
   * the deadline and the expiration (never, when neither). `attempts` restarts at `restarts`.
   */
  | (CompletionBase & {
      readonly kind: 'poll'
      readonly poll: StoredPoll
      readonly children: readonly NewCall[]
      /** The `seq` of every result the attempt was given: consumed now. */
      readonly consumed: readonly number[]
    })
  /**
   * INCOMPATIBLE_STATE answered to a resumed turn. The call starts again from its input, due
   * `now`: state and results cleared, epoch and restarts bumped, its non-terminal descendants cancelled.
   */
  | (CompletionBase & { readonly kind: 'restart'; readonly error: ErrorMessage | undefined })

/** The completions of one kind (or several). */
export type CompletionOf<K extends Completion['kind']> = Extract<Completion, { kind: K }>

/** The attempts a call's history keeps: the most recent ones, older ones are dropped as new ones come. */
export const ATTEMPT_HISTORY_LIMIT = 20

/**
 * One attempt as a call's history keeps it, written with the attempt's outcome in the same
 * transaction. Attempts whose outcome was never recorded (the scheduler died, a stale claim) are absent.
 */
export interface StoredAttempt {
  /** The call's attempt number (it restarts at a tail call and at each coroutine turn). */
  readonly attempt: number
  readonly startedAt: number
  readonly finishedAt: number
  readonly status: Status
  /** What the scheduler made of it: the {@link Completion} kind. */
  readonly outcome: Completion['kind']
  /** The error, its message cut to {@link ATTEMPT_ERROR_EXCERPT} characters. */
  readonly error: ErrorMessage | undefined
}

/** The longest error message an attempt's history entry keeps. */
export const ATTEMPT_ERROR_EXCERPT = 300

export interface ListFilter {
  readonly state?: CallState
  readonly function?: string
  readonly endpoint?: string
  readonly fairnessKey?: string
  /** The children of this call. */
  readonly parentDispatchId?: string
  /** Calls created at or after this instant. */
  readonly createdFrom?: number
  /** Calls created before this instant. */
  readonly createdBefore?: number
  /** The call with this dispatch id, or the calls dispatched with this idempotency key (exact match). */
  readonly search?: string
  readonly limit: number
  /** The last id of the previous page: the list continues after it (newest first). */
  readonly after?: string
  /** An input, output or error over this many bytes (of JSON) is left out, and never read. Default: none is. */
  readonly maxMessageBytes?: number
  /** The page ends once its messages add up to this many bytes (it holds at least one call). Default: no cap. */
  readonly maxPageBytes?: number
}

/**
 * A call as a List page gives it: without its coroutine state, pending results or origin, and with
 * each message over the filter's `maxMessageBytes` left out (its size given instead).
 */
export interface ListedCall
  extends Omit<StoredCall, 'poll' | 'results' | 'originFunction' | 'originEndpoint' | 'originInput'> {
  /** Whether the call holds a coroutine's Poll state (not read). */
  readonly hasPoll: boolean
  /** Set when the input was left out: its size in bytes. */
  readonly inputBytes: number | undefined
  readonly outputBytes: number | undefined
  readonly errorBytes: number | undefined
}

export interface ListPage {
  readonly calls: ListedCall[]
  /** The id to continue after, when there may be more. */
  readonly nextAfter: string | undefined
}

/** What {@link Store.countCalls} counts. */
export interface CountOptions {
  /** Only pending, running and suspended calls (default: every call kept). */
  readonly unfinishedOnly?: boolean
}

/** The states of calls not yet finished: what `countCalls({ unfinishedOnly: true })` counts. */
export const UNFINISHED_STATES: ReadonlySet<CallState> = new Set<CallState>(['pending', 'running', 'suspended'])

/** Counts per function and state, for summaries. `retrying` counts pending calls with a failed attempt. */
export interface CallCounts {
  readonly function: string
  readonly state: CallState
  readonly count: number
  readonly retrying: number
}

/** Cancel/redrive answers: the call after the change, or why nothing changed. */
export type ChangeResult =
  | { readonly kind: 'changed'; readonly call: StoredCall }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'refused'; readonly call: StoredCall }

/**
 * Durable storage of calls. Every method is atomic (one transaction) and resolves only after its
 * changes are durable. Implementations: SQLite (embedded) and PostgreSQL (shared by several nodes);
 * both pass test/scheduler/storeConformance.ts. Methods work in batches so one commit serves many
 * calls. What only some stores can do (fair queues, attempt history, lease renewal, new-work
 * notifications, shared settings) is an optional member: the scheduler asks whether a store has it,
 * never which store it is.
 */
export interface Store {
  /**
   * True when one scheduler process at a time uses this store (SQLite holds an exclusive lock):
   * start-up may then release every lease a dead process left. Shared stores let leases expire.
   */
  readonly exclusive: boolean
  /** Records a batch atomically: all calls, or none when this rejects. Results in input order. */
  insertCalls(calls: readonly NewCall[], options: InsertOptions): Promise<InsertResult[]>
  /**
   * Leases up to `limit` calls that are due (pending with `dueAt <= now`, or running with an
   * expired lease), oldest due first; each comes back running, with `attempts` incremented.
   * A claim may resolve before it is durable (the SQLite store does not fsync it): losing one
   * to a power loss only makes its calls due again, delivered at least once like any attempt
   * whose outcome was not recorded.
   * Calls with a per-key concurrency limit are left to {@link claimCapped}.
   */
  claimCalls(request: ClaimRequest): Promise<StoredCall[]>
  /**
   * Optional (per-key concurrency, docs/flow-control.md): leases up to `limit` due calls that have a
   * concurrency key, oldest due first, only while their (function, key) has fewer than its limit
   * running — counted over every node sharing the store, a lease that expired not counting. A store
   * without it claims such calls with {@link claimCalls} like any other: their per-key concurrency
   * and rate limits are then not enforced.
   * Calls with a rate limit are taken here too, only while their (function, rate key) has had fewer
   * than its limit of starts within its period, every claim of such a call counting as a start.
   * The queues waiting on one key take turns (`turns`, `costs`); a claim reads at most `limit` calls
   * of each (function, concurrency key, rate key, queue), not the whole backlog.
   */
  claimCapped?(request: CappedClaimRequest): Promise<StoredCall[]>
  /**
   * Optional (rate limits, docs/flow-control.md): the earliest time after `now` at which a start of
   * a rate-limited call leaves its period (a key may then have room again); undefined when none will.
   */
  nextRateOpening?(now: number): Promise<number | undefined>
  /**
   * Optional (fair scheduling): up to `limit` distinct queues that have due calls (the same
   * "due" as {@link claimCalls}), in any order. Without it the scheduler serves calls oldest due first
   * over all queues (no fairness between queues).
   */
  dueQueues?(now: number, limit: number): Promise<QueueKey[]>
  /**
   * Optional (fair scheduling): like {@link claimCalls} with `queue` for each entry, all in one
   * transaction, results of all queues together (any order). Without it the scheduler claims
   * queue by queue with `claimCalls({ queue })`, one transaction each.
   */
  claimQueues?(request: QueueClaimRequest): Promise<StoredCall[]>
  /** Applies outcomes in one transaction; for each, whether it applied (false: stale claim). */
  completeAttempts(completions: readonly Completion[]): Promise<boolean[]>
  getCall(dispatchId: string): Promise<StoredCall | undefined>
  getCalls(dispatchIds: readonly string[]): Promise<StoredCall[]>
  /**
   * The queues of those of `dispatchIds` that are suspended and due by `now` (coroutines that their
   * children's results woke), each once, in any order; unknown ids are skipped. Reads no coroutine
   * state: the delivery loop asks after every commit that recorded a child's result.
   */
  dueQueuesOf(dispatchIds: readonly string[], now: number): Promise<QueueKey[]>
  listCalls(filter: ListFilter): Promise<ListPage>
  /**
   * Cancels a pending, running or suspended call and its non-terminal descendants; a running
   * attempt's later outcome is then stale. A cancelled child reports a `Cancelled` error to its parent.
   */
  cancelCall(dispatchId: string, now: number): Promise<ChangeResult>
  /**
   * Runs a failed or cancelled call again from its origin, with a fresh attempt budget (coroutine state
   * and results cleared, epoch bumped; a redriven child no longer reports to its parent).
   */
  redriveCall(dispatchId: string, now: number): Promise<ChangeResult>
  /**
   * Delivers a signal to a live call (pending, running or suspended): a result without a child
   * (`dispatchId` empty, no correlation id) whose output is `signal`, queued for the call's current
   * epoch with its children's results — so a suspended coroutine whose waiting results reach its
   * `minResults` becomes due now. Refused for a terminal call.
   */
  signalCall(dispatchId: string, signal: AnyMessage, now: number): Promise<ChangeResult>
  /**
   * Makes running calls pending again, due `now`: all of them, or those leased by `owner`.
   * A single-node store calls it at start-up for the attempts a dead process left in flight.
   */
  releaseLeases(now: number, owner?: string): Promise<number>
  /** The earliest `dueAt` of any non-terminal call, to sleep until then. */
  nextDueAt(): Promise<number | undefined>
  /**
   * Optional (metrics): the queues with calls due at `now` (the "due" of {@link claimCalls}), each
   * with how many and the earliest due time, oldest first, at most `limit` of them. Reads every due
   * call: the scheduler asks rarely.
   */
  queueBacklog?(now: number, limit: number): Promise<QueueBacklog[]>
  /**
   * Optional: the call's attempt history, oldest first (at most {@link ATTEMPT_HISTORY_LIMIT}); empty
   * for an unknown call. Stores that have it record each applied completion in the same transaction.
   */
  listAttempts?(dispatchId: string): Promise<StoredAttempt[]>
  /**
   * The calls per function and state (a scan of every call kept). With `unfinishedOnly`, only
   * pending, running and suspended calls: a range of the index on state, cheap while the backlog is.
   */
  countCalls(options?: CountOptions): Promise<CallCounts[]>
  /** Forgets idempotency keys recorded before `before`. */
  purgeIdempotencyKeys(before: number): Promise<number>
  /**
   * Retention: deletes up to `limit` finished calls (succeeded, failed or cancelled) last changed
   * before `before`, oldest first, with the waiting results kept for them; resolves to how many calls
   * it deleted (fewer than `limit`: nothing more is due now). A call whose parent or root is still
   * pending, running or suspended is kept: a coroutine tree goes only once its root has finished, and
   * a running parent's children stay inspectable. Calls already finished when their parent or root is
   * deleted go in a later batch.
   */
  purgeFinishedCalls(before: number, limit: number): Promise<number>
  /**
   * Optional (stores several nodes share), with {@link renewLeases}: claims take a lease this long,
   * in ms, which the scheduler renews while the attempt runs, so another node takes a dead node's
   * calls over after this short lease instead of after the longest attempt timeout.
   */
  readonly renewedLeaseMs?: number
  /** Optional, with {@link renewedLeaseMs}: extends the leases this owner still holds (same attempt, still running). */
  renewLeases?(owner: string, leases: readonly LeaseExtension[]): Promise<number>
  /**
   * Optional (stores several nodes share): calls `listener` whenever another node inserts, redrives or
   * releases calls, so an idle node claims at once instead of at its next poll. Returns a function
   * that stops listening.
   */
  onNewWork?(listener: () => void): () => void
  /**
   * Optional (stores several nodes share): a value every node of the installation shares (the API key,
   * the signing key): read it, or store `make()` if nobody has yet. Nodes starting together agree on
   * the first one stored. With it the scheduler keeps its keys in the store instead of beside `dbPath`.
   */
  sharedSetting?(name: string, make: () => string): Promise<string>
  /** Where {@link sharedSetting} keeps its values, for messages (`the PostgreSQL schema dispatch`). */
  readonly settingsLocation?: string
  /** Optional: files the store made owner-only when it opened them (other users could read them), to warn about. */
  readonly tightened?: readonly string[]
  /**
   * Optional (schedules, docs/flow-control.md): records these schedules. A new one is stored with its
   * `nextTickAt`; a known one keeps its next tick and paused state unless its cron expression or time
   * zone changed (then it takes the given `nextTickAt`). Schedules not given are left as they are.
   */
  syncSchedules?(schedules: readonly ScheduleSync[], now: number): Promise<void>
  /** Optional, with {@link syncSchedules}: every stored schedule, by name. */
  listSchedules?(): Promise<StoredSchedule[]>
  /**
   * Optional, with {@link syncSchedules}: fires ticks of one schedule — only when its next tick is
   * still `tick.expected` and it is not paused: then, in one transaction, its next tick becomes
   * `tick.nextTickAt`, its last tick `tick.lastTickAt` (when set), and `tick.calls` are inserted. False: another
   * node (or an earlier attempt) fired it, or it was paused, and nothing changed. Each tick is thus
   * fired once across nodes and restarts.
   */
  fireSchedule?(tick: ScheduleFiring, now: number): Promise<boolean>
  /**
   * Optional, with {@link syncSchedules}: pauses a schedule (`nextTickAt` undefined) or resumes it
   * with that next tick; undefined when there is no such schedule.
   */
  setSchedulePaused?(
    name: string,
    paused: boolean,
    nextTickAt: number | undefined,
    now: number,
  ): Promise<StoredSchedule | undefined>
  close(): Promise<void>
}

/** What a schedule is: which function it calls, when, and with what (docs/flow-control.md, "Schedules"). */
export interface ScheduleDefinition {
  readonly name: string
  readonly function: string
  readonly endpoint: string
  readonly cron: string
  readonly timezone: string
  /** The arguments of each tick's call. */
  readonly input: readonly unknown[]
  readonly missed: 'skip' | 'catchup'
  /** With `catchup`: at most this many missed ticks are fired after downtime. */
  readonly catchUp: number
}

/** A schedule to record, with its first tick. */
export interface ScheduleSync extends ScheduleDefinition {
  readonly nextTickAt: number
}

/** A schedule as stored. */
export interface StoredSchedule extends ScheduleDefinition {
  readonly paused: boolean
  /** The next tick to fire; undefined while paused or when the expression has no more. */
  readonly nextTickAt: number | undefined
  readonly lastTickAt: number | undefined
  readonly updatedAt: number
}

/** Ticks of one schedule to fire at once (see {@link Store.fireSchedule}). */
export interface ScheduleFiring {
  readonly name: string
  /** The next tick the schedule must still have: the compare of the compare-and-set. */
  readonly expected: number
  readonly nextTickAt: number | undefined
  /** The latest tick that made a call; undefined when none did (missed ticks skipped): the last one stays. */
  readonly lastTickAt: number | undefined
  readonly calls: readonly NewCall[]
}

/** One lease to extend: the attempt that holds it, and its new expiry. */
export interface LeaseExtension {
  readonly dispatchId: string
  readonly attempt: number
  readonly until: number
}
