import type { Call, CallResult } from '../../schemas/call.js'
import { SIGNAL_TYPE_URL } from '../../schemas/callService.js'
import { toProtoDuration } from '../../schemas/duration.js'
import type { ErrorMessage } from '../../schemas/error.js'
import { codedMessage } from '../../schemas/errors/codedMessage.js'
import { MAX_POLL_CALLS, type Poll, type PollResult } from '../../schemas/run.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { CallFailedError } from '../client/callFailedError.js'
import { clockNow } from '../context/clock.js'
import { SignalTimeoutError } from '../errors/signalTimeoutError.js'
import { StepFailedError } from '../errors/stepFailedError.js'
import { hashText } from '../portable/hashText.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { type CallOutcome, encodeJournal, type Journal, MAX_JOURNAL_BYTES, type OpRecord } from './journal.js'
import {
  type CallOp,
  type CallOutcomeError,
  calledFunction,
  callOp,
  callOutcome,
  failureOutcome,
  firedMark,
  firesAt,
  inputHashOf,
  isCallOp,
  isPatchOp,
  isSignalOp,
  isSleepOp,
  isStepOp,
  isValueOp,
  type JournaledValueType,
  journaledValue,
  kindOf,
  markFired,
  markSent,
  outcomeError,
  outcomeOutput,
  outputOutcome,
  patchId,
  patchOp,
  recordOutcome,
  recordSignalOutcome,
  recordStepOutcome,
  sentMark,
  signalDeadline,
  signalName,
  signalOp,
  signalOutcome,
  sleepOp,
  stepAttempts,
  stepName,
  stepOp,
  stepOutcome,
  valueOp,
  valueTypeOf,
} from './journalOps.js'
import type { StepRun } from './runStep.js'

/** The most calls one Poll may start (docs/protocol.md §12.1); larger fan-outs go out over several turns. */
export const MAX_CALLS_PER_POLL = MAX_POLL_CALLS

/** Knobs of the replay engine (tests lower them). */
export const coroutineTuning = {
  /**
   * How long a replay waits, with durable operations pending and nothing happening, for the
   * function to start an operation its journal already resolved, before it gives up as diverged.
   */
  replayStallMs: 30_000,
  /** The most calls one Poll starts (tests lower it to see a fan-out go out over several Polls). */
  maxCallsPerPoll: MAX_CALLS_PER_POLL,
}

/** How one turn of a coroutine ended, when it did not end by the function returning or throwing. */
export type SuspendOutcome =
  | { readonly kind: 'poll'; readonly poll: Poll }
  | { readonly kind: 'incompatible'; readonly message: string }
  | { readonly kind: 'fail'; readonly error: unknown }

interface Settle {
  resolve(value: unknown): void
  reject(error: unknown): void
}

interface Group {
  /** `all` / `allSettled` need every member; `any` / `race` one. */
  readonly all: boolean
  readonly members: readonly number[]
}

// What a durable operation started after its turn ended (the function carried on after a Poll, or
// after a divergence) gets: a promise that never settles. A fresh one each time: a shared promise
// held by the module would keep every abandoned execution awaiting it (its closure, its
// arguments) alive for the life of the process; a fresh one is collected with the execution.
function never(): Promise<never> {
  return new Promise<never>(() => {})
}

// setImmediate where the runtime has one (Node, Bun, Deno); a zero timeout elsewhere (Workers).
const immediate: (callback: () => void) => unknown =
  (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate ??
  ((callback) => setTimeout(callback, 0))

function nextTick(): Promise<void> {
  return new Promise((resolve) => immediate(resolve))
}

function inputHash(call: Call): string {
  return hashText('sha1', JSON.stringify(call.input?.value ?? null)).slice(0, 12)
}

function describe(op: OpRecord): string {
  if (isCallOp(op)) return `a call of ${calledFunction(op)}`
  if (isSleepOp(op)) return 'sleep()'
  if (isStepOp(op)) return `step ${JSON.stringify(stepName(op))}`
  if (isSignalOp(op)) return `waitForSignal(${JSON.stringify(signalName(op))})`
  if (isPatchOp(op)) return `patched(${JSON.stringify(patchId(op))})`
  return `${valueTypeOf(op)}()`
}

/** The name and payload of a result that is a signal (docs/protocol.md §7), else undefined. */
function signalOf(result: CallResult): { name: string; outcome: CallOutcome } | undefined {
  const output = result.output as { '@type'?: unknown; name?: unknown; value?: unknown } | undefined
  if (result.dispatchId !== undefined || output?.['@type'] !== SIGNAL_TYPE_URL || typeof output.name !== 'string') {
    return undefined
  }
  return { name: output.name, outcome: 'value' in output ? outputOutcome(output.value) : {} }
}

function outcomeOf(result: CallResult): CallOutcome {
  if (result.error !== undefined) {
    const e: CallOutcomeError = { type: result.error.type, message: result.error.message }
    if (result.dispatchId !== undefined) e.id = result.dispatchId
    return failureOutcome(e)
  }
  const output = result.output
  if (output === undefined) return {}
  return outputOutcome(output['@type'] === VALUE_TYPE_URL ? output.value : output)
}

function errorOutcome(error: ErrorMessage): CallOutcome {
  return failureOutcome({ type: error.type, message: error.message })
}

export interface CoroutineOptions {
  /** The function being run. */
  readonly function: string
  /** Hash of the function's code (see {@link versionOf}). */
  readonly version: string
  /** Its validated positional arguments. */
  readonly args: unknown[]
  /** Where child calls go when their client names no endpoint (the plugin's `endpoint`); else the parent's. */
  readonly endpoint?: string | undefined
  /** A journal to resume (a PollResult's state), with what the PollResult brought. */
  readonly resume?: { readonly journal: Journal; readonly pollResult: PollResult } | undefined
  /** Told once, when the turn ends by suspending, diverging or failing inside the engine. */
  readonly onSuspend: (outcome: SuspendOutcome) => void
  readonly maxJournalBytes?: number
  /** The endpoint's classifiers: a step's errors are retried by the status they classify into. */
  readonly classifiers?: ReadonlyMap<ErrorClass, ErrorClassifier['status']> | undefined
  /** Told (at most once) when the function carries on after its turn suspended (see {@link Coroutine.late}). */
  readonly onWarning?: ((message: string) => void) | undefined
}

/**
 * One turn of a durable coroutine: deterministic replay over a journal. Every durable operation the
 * function starts gets the next position; on a resumed turn the operations recorded in the journal
 * must come back in the same order (else the turn is INCOMPATIBLE_STATE), and their results are
 * handed back batch by batch, in the order the first runs received them, with the function left to
 * run until it is idle between batches. So a replay sees exactly the interleaving the first run
 * saw, and `race` picks the same winner. Then the new results of this turn are added as one more
 * batch; when the function is idle again, waiting on durable operations, the turn ends with a Poll
 * that starts the new calls, carrying the journal as its state (docs/protocol.md §13).
 */
export class Coroutine {
  private readonly journal: Journal
  /** Operations recorded before this turn: positions below it are replayed, not started. */
  private readonly recorded: number
  private readonly recordedBatches: number
  private readonly options: CoroutineOptions
  private position = 0
  private readonly live = new Map<number, Settle>()
  private readonly wires = new Map<number, Call>()
  private readonly promises = new WeakMap<object, number>()
  private readonly groups: Group[] = []
  private activity = 0
  private waiters: (() => void)[] = []
  private replayed = false
  /** Steps of this turn whose `fn` is still running: the turn cannot end before they finish. */
  private runningSteps = 0
  /** Steps that finished (and waits for a signal already received) since the driver last looked, in order. */
  private finishedSteps: number[] = []
  private closed = false
  private driving = false
  /** The turn ended with a Poll: the function should have been idle, waiting on durable operations only. */
  private suspendedWithPoll = false
  private warnedLate = false

  constructor(options: CoroutineOptions) {
    this.options = options
    const resumed = options.resume?.journal
    this.journal = resumed ?? {
      v: 1,
      fn: options.function,
      ver: options.version,
      args: options.args,
      ops: [],
      batches: [],
      sent: [],
    }
    this.recorded = this.journal.ops.length
    this.recordedBatches = this.journal.batches.length
  }

  /** Starts the driver (a resumed turn starts it right after the function is called). */
  start(): void {
    if (this.driving) return
    this.driving = true
    this.drive().catch((error: unknown) => this.end({ kind: 'fail', error }))
  }

  /** A durable call of `wire` (a Call without correlation id). */
  call(functionName: string, wire: Call): Promise<unknown> {
    const record: OpRecord = callOp(functionName, inputHash(wire))
    const p = this.open(record)
    if (p === undefined) return never()
    this.wires.set(p, wire)
    return this.pending(p)
  }

  /** A durable timer of `ms` milliseconds. */
  sleep(ms: number): Promise<void> {
    const p = this.open(sleepOp(clockNow() + ms))
    if (p === undefined) return never()
    return this.pending(p) as Promise<void>
  }

  /**
   * A durable step: `execute` runs it (with its retries) unless the journal already has its
   * outcome; the outcome is handed to the function as a batch of its own, like a call's result.
   */
  step(name: string, execute: () => Promise<StepRun>): Promise<unknown> {
    const p = this.open(stepOp(name))
    if (p === undefined) return never()
    const promise = this.pending(p)
    if (p >= this.recorded) {
      const op = this.journal.ops[p]!
      this.runningSteps++
      execute().then(({ outcome, attempts }) => {
        this.runningSteps--
        // A turn that ended meanwhile (the function returned without awaiting it) keeps nothing.
        if (this.closed || !isStepOp(op)) return
        recordStepOutcome(op, outcome, attempts)
        this.finishedSteps.push(p)
        this.touch()
      })
    }
    return promise
  }

  /**
   * A wait for the signal `name`: resolved by a signal this coroutine received before (its inbox),
   * else by the next one that comes, or timed out at `until`.
   */
  signal(name: string, until: number | undefined): Promise<unknown> {
    const p = this.open(signalOp(name, until))
    if (p === undefined) return never()
    const promise = this.pending(p)
    const op = this.journal.ops[p]
    const inbox = this.journal.sig
    if (p >= this.recorded && isSignalOp(op) && inbox !== undefined) {
      const i = inbox.findIndex((s) => s.n === name)
      if (i >= 0) {
        const [received] = inbox.splice(i, 1)
        if (inbox.length === 0) delete this.journal.sig
        recordSignalOutcome(op, 'o' in received! ? outputOutcome(received!.o) : {})
        // Handed over by the driver as a batch of its own, like a finished step.
        this.finishedSteps.push(p)
        this.touch()
      }
    }
    return promise
  }

  /** The endpoint's classifiers, for a step's retries. */
  get classifiers(): ReadonlyMap<ErrorClass, ErrorClassifier['status']> | undefined {
    return this.options.classifiers
  }

  /**
   * `patched(id)`: true on a new run and on a run that reaches it for the first time under this
   * code (a marker is journaled); false on the replay of a journal that went past this point
   * without it (recorded before the patch), which then takes no position.
   */
  patched(id: string): boolean {
    if (this.closed) return true
    if (this.position < this.recorded) {
      const before = this.journal.ops[this.position]
      if (!isPatchOp(before) || patchId(before) !== id) return false
    }
    this.open(patchOp(id))
    return true
  }

  /** A journaled value: recorded on the first run, the same on every replay. */
  value<T extends number | string>(type: JournaledValueType, produce: () => T): T {
    const fresh = produce()
    const p = this.open(valueOp(type, fresh))
    if (p === undefined) return fresh
    const op = this.journal.ops[p]!
    return (isValueOp(op) ? journaledValue(op) : fresh) as T
  }

  /** Notes that the function waits on all (or any one) of `values`, to choose how many results to wait for. */
  group(values: readonly unknown[], all: boolean): void {
    // A set: the same promise twice (all([a, a])) is one result to wait for, not two.
    const members = new Set<number>()
    for (const v of values) {
      const p = typeof v === 'object' && v !== null ? this.promises.get(v) : undefined
      if (p !== undefined) members.add(p)
    }
    if (members.size > 0) this.groups.push({ all, members: [...members] })
  }

  /**
   * The function returned or threw: the turn is over unless it already ended. A resumed function
   * that settles before replaying everything its journal recorded did not run the same way.
   */
  settled(): SuspendOutcome | undefined {
    if (this.closed) return undefined
    const early = this.options.resume !== undefined && (!this.replayed || this.position < this.recorded)
    this.close()
    if (!early) return undefined
    return {
      kind: 'incompatible',
      message: `${this.options.function} ended before reaching operation #${this.position} recorded in its journal (${this.recorded} operations): the function did not run the same way on replay`,
    }
  }

  /** Where child calls go when their client names no endpoint. */
  get endpoint(): string | undefined {
    return this.options.endpoint
  }

  /** Whether the turn already ended (suspended, diverged or settled). */
  get ended(): boolean {
    return this.closed
  }

  /**
   * The function did something (`what`) after its turn ended with a Poll: when the turn suspended
   * it was not idle but awaiting something that is not durable (I/O, a plain timer) beside the
   * durable operations it waited on. That work runs again on the replay, and what follows it goes
   * out a turn later. Noticed here, where it costs nothing on the path of a turn (no promise hook),
   * and said once per turn; an endpoint whose runtime stops after answering never notices.
   */
  late(what: string): void {
    if (!this.suspendedWithPoll || this.warnedLate) return
    this.warnedLate = true
    const name = this.options.function
    this.options.onWarning?.(
      codedMessage(
        'DSP2267',
        `${name} was still busy when its turn suspended: after the turn ended, ${what}. It was awaiting something not durable (I/O such as a query or a fetch, or a plain timer) while durable operations were pending; that work runs again on the replay and what follows it goes out a turn later. Put I/O in a step: step('name', () => ...)`,
      ),
    )
  }

  // Registers the next operation, checking it against the journal on replay; undefined once the turn ended.
  private open(record: OpRecord): number | undefined {
    if (this.closed) {
      this.late(`it started ${describe(record)}`)
      return undefined
    }
    const p = this.position++
    if (p < this.recorded) {
      const before = this.journal.ops[p]!
      const same =
        kindOf(before) === kindOf(record) &&
        (!isCallOp(before) ||
          (isCallOp(record) &&
            calledFunction(before) === calledFunction(record) &&
            inputHashOf(before) === inputHashOf(record))) &&
        (!isValueOp(before) || (isValueOp(record) && valueTypeOf(before) === valueTypeOf(record))) &&
        (!isStepOp(before) || (isStepOp(record) && stepName(before) === stepName(record))) &&
        (!isSignalOp(before) || (isSignalOp(record) && signalName(before) === signalName(record))) &&
        (!isPatchOp(before) || (isPatchOp(record) && patchId(before) === patchId(record)))
      if (!same) {
        const what =
          isCallOp(record) && isCallOp(before) && calledFunction(before) === calledFunction(record)
            ? ' with other input'
            : ''
        this.end({
          kind: 'incompatible',
          message: `${this.options.function} diverged from its journal at operation #${p}: it recorded ${describe(before)}, the replay asks for ${describe(record)}${what}`,
        })
        return undefined
      }
    } else {
      this.journal.ops.push(record)
    }
    this.touch()
    if (!this.driving) queueMicrotask(() => this.start())
    return p
  }

  private pending(p: number): Promise<unknown> {
    const promise = new Promise<unknown>((resolve, reject) => this.live.set(p, { resolve, reject }))
    // A durable call nobody awaits and that fails must not be an unhandled rejection (which ends Node).
    promise.catch(() => {})
    this.promises.set(promise, p)
    return promise
  }

  private touch(): void {
    this.activity++
    const waiting = this.waiters
    if (waiting.length === 0) return
    this.waiters = []
    for (const wake of waiting) wake()
  }

  private nextActivity(): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  // Lets the function run until a full turn of the event loop passes without it starting or
  // receiving a durable operation: it is then waiting on durable operations (or on I/O).
  private async quiesce(): Promise<void> {
    for (;;) {
      const before = this.activity
      await nextTick()
      if (this.closed || this.activity === before) return
    }
  }

  /** Waits until the function has started `count` operations; false when the turn ended first. */
  private async created(count: number): Promise<boolean> {
    while (this.position < count) {
      if (this.closed) return false
      // Waiting on nothing durable, the function is busy with other work (I/O): wait for it, as
      // for a plain function.
      if (!this.waitingOnDurable()) {
        await this.nextActivity()
        continue
      }
      // Waiting on durable operations the journal resolves only in a later batch, the function
      // cannot reach the operation this batch resolves: it did not run the same way (code that
      // branches on something not journaled, or a crafted state). Nothing would ever happen again
      // and the endpoint would never answer; after a quiet while it is a divergence instead. The
      // while is long because the function may also be awaiting slow I/O that starts the operation.
      if (!(await this.activityWithin(coroutineTuning.replayStallMs))) {
        const op = this.journal.ops[this.position]
        this.end({
          kind: 'incompatible',
          message: `${this.options.function} diverged from its journal at operation #${this.position}: the replay waits on operations the journal resolves later and does not start ${op === undefined ? 'the next operation' : describe(op)} (nothing happened for ${coroutineTuning.replayStallMs} ms)`,
        })
        return false
      }
    }
    return !this.closed
  }

  /** True when the function starts or receives a durable operation (or the turn ends) within `ms`. */
  private activityWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      timer.unref()
      this.nextActivity().then(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  private apply(batch: readonly number[]): void {
    for (const p of batch) {
      const settle = this.live.get(p)
      if (settle === undefined) continue
      this.live.delete(p)
      const op = this.journal.ops[p]!
      const outcome = isCallOp(op)
        ? callOutcome(op)
        : isStepOp(op)
          ? stepOutcome(op)
          : isSignalOp(op)
            ? signalOutcome(op)
            : undefined
      const error = outcome === undefined ? undefined : outcomeError(outcome)
      if (isCallOp(op) && error !== undefined) {
        settle.reject(new CallFailedError({ function: calledFunction(op), dispatchId: error.id, error }))
      } else if (isSignalOp(op) && error !== undefined) {
        settle.reject(new SignalTimeoutError(signalName(op), error.message))
      } else if (isStepOp(op) && error !== undefined) {
        const failure = { type: error.type, message: error.message }
        settle.reject(new StepFailedError({ step: stepName(op), attempts: stepAttempts(op), error: failure }))
      } else {
        settle.resolve(outcome === undefined ? undefined : outcomeOutput(outcome))
      }
    }
    this.touch()
  }

  private async runBatch(batch: readonly number[]): Promise<boolean> {
    if (batch.length > 0 && !(await this.created(Math.max(...batch) + 1))) return false
    this.apply(batch)
    await this.quiesce()
    return !this.closed
  }

  private async drive(): Promise<void> {
    // Before the function sees any result: a PollResult that hands back a result this coroutine did
    // not ask for (a forged or misrouted one) must never replace what its own call returned.
    const unmatched = this.unmatchedResult()
    if (unmatched !== undefined) {
      this.end({ kind: 'incompatible', message: unmatched })
      return
    }
    await this.quiesce()
    const { journal } = this
    for (let k = 0; k < this.recordedBatches; k++) {
      if (!(await this.runBatch(journal.batches[k]!))) return
    }
    this.replayed = true
    const arrived = this.arrivals()
    if (arrived.length > 0) {
      journal.batches.push(arrived)
      if (!(await this.runBatch(arrived))) return
    }
    journal.sent = []
    while (!this.closed) {
      // Steps that finished while the replay ran are handed over first, each in its own batch.
      const finished = this.finishedSteps
      if (finished.length > 0) {
        this.finishedSteps = []
        for (const p of finished) {
          journal.batches.push([p])
          if (!(await this.runBatch([p]))) return
        }
        continue
      }
      const fired = this.firedTimers()
      if (fired.length > 0) {
        journal.batches.push(fired)
        if (!(await this.runBatch(fired))) return
        continue
      }
      // A running step holds the turn: suspending now would lose its outcome and run it again.
      if (this.runningSteps === 0 && this.waitingOnDurable()) {
        this.suspend()
        return
      }
      // Waiting on a step or on something else (I/O between durable operations): let it finish.
      await this.nextActivity()
      await this.quiesce()
    }
  }

  /**
   * Why a result of this turn's PollResult does not answer a call the journal sent and still waits
   * for, or undefined when each one does: its correlation id must be the position of a durable call
   * (not a timer or a value) sent in a Poll, without a result yet, and named once.
   */
  private unmatchedResult(): string | undefined {
    const results = this.options.resume?.pollResult.results
    if (results === undefined || results.length === 0) return undefined
    const { ops } = this.journal
    const named = new Set<number>()
    const name = this.options.function
    for (const result of results) {
      if (signalOf(result) !== undefined) continue
      // proto3 JSON leaves a zero correlation id out.
      const id = String(result.correlationId ?? '0')
      const p = /^[0-9]{1,9}$/.test(id) ? Number(id) : -1
      const op = p >= 0 ? ops[p] : undefined
      const refuse = (why: string) =>
        codedMessage(
          'DSP2243',
          `the PollResult of ${name} hands back a result for correlation id ${JSON.stringify(id)}, which ${why}; results are accepted only for calls this coroutine's journal sent`,
        )
      if (op === undefined) return refuse('is no operation of its journal')
      if (!isCallOp(op)) return refuse(`is ${describe(op)}, not a call`)
      if (sentMark(op) !== 1) return refuse(`is a call of ${calledFunction(op)} that was never sent`)
      if (callOutcome(op) !== undefined || named.has(p))
        return refuse(`is a call of ${calledFunction(op)} that already has its result`)
      named.add(p)
    }
    return undefined
  }

  /** The results this turn's PollResult brought, recorded in the journal: positions in order. */
  private arrivals(): number[] {
    const pollResult = this.options.resume?.pollResult
    if (pollResult === undefined) return []
    const { ops } = this.journal
    const batch: number[] = []
    const take = (p: number, outcome: CallOutcome) => {
      const op = ops[p]
      // Every result was matched to a waiting call before the turn began; a call of the last Poll
      // that already has its result ignores the Poll's error.
      if (!isCallOp(op) || callOutcome(op) !== undefined) return
      recordOutcome(op, outcome)
      batch.push(p)
    }
    for (const result of pollResult.results ?? []) {
      const signal = signalOf(result)
      if (signal === undefined) take(Number(result.correlationId ?? '0'), outcomeOf(result))
      else this.receive(signal.name, signal.outcome, batch)
    }
    // None of the last Poll's calls could start: each of them fails with the scheduler's error.
    if (pollResult.error !== undefined) for (const p of this.journal.sent) take(p, errorOutcome(pollResult.error))
    for (const p of this.firedTimers()) batch.push(p)
    return batch
  }

  /**
   * A signal arrived: it resolves the oldest wait for its name that has no outcome yet (joining
   * `batch`), else it joins the journal's inbox for a later wait.
   */
  private receive(name: string, outcome: CallOutcome, batch: number[]): void {
    const { ops } = this.journal
    for (let p = 0; p < ops.length; p++) {
      const op = ops[p]!
      if (isSignalOp(op) && signalName(op) === name && signalOutcome(op) === undefined) {
        recordSignalOutcome(op, outcome)
        batch.push(p)
        return
      }
    }
    this.journal.sig ??= []
    this.journal.sig.push('o' in outcome ? { n: name, o: outcomeOutput(outcome) } : { n: name })
  }

  /** Timers due now, marked fired in the journal (positions). */
  private firedTimers(): number[] {
    const now = clockNow()
    const fired: number[] = []
    const { ops } = this.journal
    for (let p = 0; p < ops.length; p++) {
      const op = ops[p]!
      if (isSleepOp(op) && firedMark(op) === undefined && firesAt(op) <= now) {
        markFired(op)
        fired.push(p)
      } else if (isSignalOp(op) && signalOutcome(op) === undefined && (signalDeadline(op) ?? Infinity) <= now) {
        const message = `no signal ${JSON.stringify(signalName(op))} came before the timeout`
        recordSignalOutcome(op, failureOutcome({ type: 'SignalTimeoutError', message }))
        fired.push(p)
      }
    }
    return fired
  }

  /** Started in this run and not resolved: what a Poll waits for. */
  private waitingOnDurable(): boolean {
    for (const p of this.live.keys()) if (!isValueOp(this.journal.ops[p])) return true
    return false
  }

  private suspend(): void {
    const { journal } = this
    const unresolvedCalls: number[] = []
    const unsent: number[] = []
    let earliestTimer = Number.POSITIVE_INFINITY
    for (const p of this.live.keys()) {
      const op = journal.ops[p]!
      if (isCallOp(op)) {
        unresolvedCalls.push(p)
        if (sentMark(op) === undefined) unsent.push(p)
      } else if (isSleepOp(op)) {
        earliestTimer = Math.min(earliestTimer, firesAt(op))
      } else if (isSignalOp(op)) {
        earliestTimer = Math.min(earliestTimer, signalDeadline(op) ?? Number.POSITIVE_INFINITY)
      }
    }
    unsent.sort((a, b) => a - b)
    const sending = unsent.slice(0, coroutineTuning.maxCallsPerPoll)
    const calls: Call[] = []
    for (const p of sending) {
      const op = journal.ops[p]!
      if (isCallOp(op)) markSent(op)
      calls.push({ ...this.wires.get(p)!, correlationId: String(p) })
    }
    journal.sent = sending
    const waitingFor = unresolvedCalls.filter((p) => sentMark(journal.ops[p] as CallOp) === 1).length
    const maxResults = Math.max(1, Math.min(coroutineTuning.maxCallsPerPoll, waitingFor))
    const poll: Poll = {
      calls,
      // Never above maxResults: a scheduler that does not clamp would wait for results that cannot come.
      minResults: Math.max(1, Math.min(maxResults, sending.length < unsent.length ? 1 : this.needed())),
      maxResults,
    }
    if (earliestTimer !== Number.POSITIVE_INFINITY) {
      // To the millisecond, rounded up: a timer never resumes a turn before it is due (a timer
      // already due fired above, so at least 1 ms is left).
      poll.maxWait = toProtoDuration(Math.max(1, Math.ceil(earliestTimer - clockNow())))
    }
    try {
      poll.coroutineState = encodeJournal(journal, this.options.maxJournalBytes ?? MAX_JOURNAL_BYTES)
    } catch (error) {
      this.end({ kind: 'fail', error })
      return
    }
    this.end({ kind: 'poll', poll })
  }

  /**
   * How many results the function needs before it can make progress: 1, unless every call it waits
   * on belongs to an `all`/`allSettled`, then the fewest unresolved members of such a group.
   */
  private needed(): number {
    // Only calls bring results: a timer in an all() fires through maxWait, never as a result, so
    // counting it would ask the scheduler for more results than can come.
    const unresolved = (p: number) => this.live.has(p) && isCallOp(this.journal.ops[p]!)
    let fewest = Number.POSITIVE_INFINITY
    const covered = new Set<number>()
    for (const group of this.groups) {
      if (!group.all) continue
      const open = group.members.filter(unresolved)
      if (open.length === 0) continue
      fewest = Math.min(fewest, open.length)
      for (const p of open) covered.add(p)
    }
    for (const p of this.live.keys()) {
      const op = this.journal.ops[p]!
      // A signal is one result: it must resume the function on its own.
      if ((isCallOp(op) && !covered.has(p)) || isSignalOp(op)) return 1
    }
    return fewest === Number.POSITIVE_INFINITY ? 1 : fewest
  }

  private end(outcome: SuspendOutcome): void {
    if (this.closed) return
    this.suspendedWithPoll = outcome.kind === 'poll'
    this.close()
    this.options.onSuspend(outcome)
  }

  private close(): void {
    this.closed = true
    this.touch()
  }
}

const versions = new WeakMap<object, string>()

/**
 * The code version a journal records: `@` and the route's declared version when it has one (only
 * a change of it refuses a resumed turn), else a hash of the function's name and source.
 */
export function codeVersionOf(
  name: string,
  handler: (...args: never[]) => unknown,
  declared: string | number | undefined,
): string {
  return declared === undefined ? versionOf(name, handler) : `@${declared}`
}

/** A hash of a function's name and source code: a resumed turn under other code is refused. */
export function versionOf(name: string, handler: (...args: never[]) => unknown): string {
  let version = versions.get(handler)
  if (version === undefined) {
    version = hashText('sha256', `${name}\0${handler.toString()}`).slice(0, 16)
    versions.set(handler, version)
  }
  return version
}

/** `crypto.randomUUID` (the Web Crypto global, on every runtime), for the journaled `uuid()`. */
export const newUuid = (): string => globalThis.crypto.randomUUID()
