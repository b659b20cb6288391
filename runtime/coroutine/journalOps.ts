/**
 * @module
 * The durable operations of a coroutine journal, and the one place that knows their keys. The keys
 * are one letter because the journal travels with every turn of a coroutine, and they are part of
 * the serialized coroutine state (docs/protocol.md §13.2): renaming one would make every suspended
 * coroutine unreadable. So they stay as they are, each documented below, and the replay engine
 * reads and writes them only through the named functions of this module.
 */

/** Which journaled value an operation recorded: `now()`, `random()` or `uuid()`. */
export type JournaledValueType = 'now' | 'random' | 'uuid'

/** Why a durable call failed, as its CallResult's error said. */
export interface CallOutcomeError {
  /** The error's type (its class name, or a name the scheduler gave, such as `Cancelled`). */
  type: string
  /** The error's message. */
  message: string
  /** The child's dispatch id (it becomes `CallFailedError.dispatchId`). */
  id?: string
}

/** What a finished durable call gave: an output, an error, or neither (`{}`: no output). */
export interface CallOutcome {
  /** Output: the `value` of the CallResult's output (the Any itself when it is not a Value); absent for none. */
  o?: unknown
  /** Error: set when the call failed. */
  e?: CallOutcomeError
}

/** A durable call (`client.f.call(...)` inside a running dispatch function). */
export interface CallOp {
  /** Kind. */
  readonly k: 'call'
  /** Function: the name of the function called. */
  readonly f: string
  /** Hash of the call's input: a replay that calls with another input diverged. */
  readonly h: string
  /** Result: the call's outcome, once known. */
  r?: CallOutcome
  /** Sent: `1` once the call went out in a Poll. */
  s?: 1
}

/** A durable timer (`sleep(...)`). */
export interface SleepOp {
  /** Kind. */
  readonly k: 'sleep'
  /** Until: when the timer fires, in epoch milliseconds of the endpoint's clock. */
  readonly u: number
  /** Result: `1` once the timer fired. */
  r?: 1
}

/** A journaled value (`now()`, `random()`, `uuid()`): recorded on the first run, replayed after. */
export interface ValueOp {
  /** Kind. */
  readonly k: 'value'
  /** Type: which function produced the value. */
  readonly t: JournaledValueType
  /** The value: a number for `now` and `random`, a string for `uuid`. */
  readonly x: number | string
}

/**
 * A durable step (`step(name, fn)`): `fn` ran in the endpoint's process and its outcome is kept, so
 * a replay hands the outcome back without running `fn` again. A saved journal holds only finished
 * steps: a turn never suspends while a step runs.
 */
export interface StepOp {
  /** Kind. */
  readonly k: 'step'
  /** Name: the step's name, checked on replay like a call's function. */
  readonly n: string
  /** Result: `{o}` (the JSON of what `fn` returned; `{}` for undefined) or `{e: {type, message}}`. */
  r?: CallOutcome
  /** Attempts: how many times `fn` ran before this outcome; absent for once. */
  a?: number
}

/** A wait for a signal (`waitForSignal(name)`): resolved by the first signal of that name it receives. */
export interface SignalOp {
  /** Kind. */
  readonly k: 'signal'
  /** Name: the signal waited for. */
  readonly n: string
  /** Until: when the wait times out, in epoch milliseconds of the endpoint's clock; absent for never. */
  readonly u?: number
  /** Result: `{o}` (the signal's payload; `{}` for none), or `{e}` when the wait timed out. */
  r?: CallOutcome
}

/** A signal the coroutine received before it waited for one of that name (the journal's inbox). */
export interface ReceivedSignal {
  /** Name. */
  readonly n: string
  /** Payload, absent for none. */
  readonly o?: unknown
}

/** The marker of `patched(id)` returning true: the run reached it under code that has the patch. */
export interface PatchOp {
  /** Kind. */
  readonly k: 'patch'
  /** Id: the patch's id. */
  readonly i: string
}

/** One durable operation of a journal, at its position (the order the function started them). */
export type OpRecord = CallOp | SleepOp | ValueOp | StepOp | SignalOp | PatchOp

/** A durable call of `functionName` whose input hashes to `inputHash`, not yet sent. */
export function callOp(functionName: string, inputHash: string): CallOp {
  return { k: 'call', f: functionName, h: inputHash }
}

/** A durable timer firing at `until` (epoch ms). */
export function sleepOp(until: number): SleepOp {
  return { k: 'sleep', u: until }
}

/** A journaled value of `type`. */
export function valueOp(type: JournaledValueType, value: number | string): ValueOp {
  return { k: 'value', t: type, x: value }
}

/** A durable step named `name`, still running. */
export function stepOp(name: string): StepOp {
  return { k: 'step', n: name }
}

/** A wait for the signal `name`, timing out at `until` (epoch ms) when given. */
export function signalOp(name: string, until: number | undefined): SignalOp {
  return until === undefined ? { k: 'signal', n: name } : { k: 'signal', n: name, u: until }
}

export function isSignalOp(op: OpRecord | undefined): op is SignalOp {
  return op?.k === 'signal'
}

/** The signal a wait waits for. */
export function signalName(op: SignalOp): string {
  return op.n
}

/** When a wait for a signal times out (epoch ms), if ever. */
export function signalDeadline(op: SignalOp): number | undefined {
  return op.u
}

/** A wait's outcome: the signal's payload, or the timeout; undefined while it waits. */
export function signalOutcome(op: SignalOp): CallOutcome | undefined {
  return op.r
}

/** Records a wait's outcome. */
export function recordSignalOutcome(op: SignalOp, outcome: CallOutcome): void {
  op.r = outcome
}

/** The marker of the patch `id`. */
export function patchOp(id: string): PatchOp {
  return { k: 'patch', i: id }
}

export function isPatchOp(op: OpRecord | undefined): op is PatchOp {
  return op?.k === 'patch'
}

/** The id of a patch marker. */
export function patchId(op: PatchOp): string {
  return op.i
}

/** The operation's kind: `call`, `sleep`, `value`, `step`, `signal` or `patch`. */
export function kindOf(op: OpRecord): OpRecord['k'] {
  return op.k
}

export function isCallOp(op: OpRecord | undefined): op is CallOp {
  return op?.k === 'call'
}

export function isSleepOp(op: OpRecord | undefined): op is SleepOp {
  return op?.k === 'sleep'
}

export function isValueOp(op: OpRecord | undefined): op is ValueOp {
  return op?.k === 'value'
}

export function isStepOp(op: OpRecord | undefined): op is StepOp {
  return op?.k === 'step'
}

/** The name of a durable step. */
export function stepName(op: StepOp): string {
  return op.n
}

/** A finished step's outcome; undefined while it runs. */
export function stepOutcome(op: StepOp): CallOutcome | undefined {
  return op.r
}

/** How many times a finished step's `fn` ran. */
export function stepAttempts(op: StepOp): number {
  return op.a ?? 1
}

/** Records a step's outcome after `attempts` runs of its `fn` (`a` left out for one: the usual case). */
export function recordStepOutcome(op: StepOp, outcome: CallOutcome, attempts: number): void {
  op.r = outcome
  if (attempts > 1) op.a = attempts
}

/** The function a durable call called. */
export function calledFunction(op: CallOp): string {
  return op.f
}

/** The hash of a durable call's input. */
export function inputHashOf(op: CallOp): string {
  return op.h
}

/** A durable call's outcome, once known. */
export function callOutcome(op: CallOp): CallOutcome | undefined {
  return op.r
}

/** Records a durable call's outcome. */
export function recordOutcome(op: CallOp, outcome: CallOutcome): void {
  op.r = outcome
}

/** The sent mark of a durable call: `1` once it went out in a Poll, else undefined. */
export function sentMark(op: CallOp): 1 | undefined {
  return op.s
}

/** Marks a durable call as sent in a Poll. */
export function markSent(op: CallOp): void {
  op.s = 1
}

/** When a durable timer fires (epoch ms of the endpoint's clock). */
export function firesAt(op: SleepOp): number {
  return op.u
}

/** The fired mark of a durable timer: `1` once it fired, else undefined. */
export function firedMark(op: SleepOp): 1 | undefined {
  return op.r
}

/** Marks a durable timer as fired. */
export function markFired(op: SleepOp): void {
  op.r = 1
}

/** Which function produced a journaled value. */
export function valueTypeOf(op: ValueOp): JournaledValueType {
  return op.t
}

/** The journaled value itself. */
export function journaledValue(op: ValueOp): number | string {
  return op.x
}

/** The outcome of a call that returned `output`. */
export function outputOutcome(output: unknown): CallOutcome {
  return { o: output }
}

/** The outcome of a call that failed with `error`. */
export function failureOutcome(error: CallOutcomeError): CallOutcome {
  return { e: error }
}

/** What a successful call returned (undefined for no output, or when it failed). */
export function outcomeOutput(outcome: CallOutcome): unknown {
  return outcome.o
}

/** Why a call failed; undefined when it did not. */
export function outcomeError(outcome: CallOutcome): CallOutcomeError | undefined {
  return outcome.e
}
