import type { PollResult } from '../../schemas/run.js'
import type { CallScope } from '../context/callScope.js'
import { runWithCall } from '../context/currentCall.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { Coroutine, type SuspendOutcome } from './coroutine.js'
import type { Journal } from './journal.js'
import { attachCoroutine, type CoroutineSlot } from './scopeCoroutine.js'

/** How one run of a function ended: it returned, threw, or its coroutine turn ended otherwise. */
export type TurnResult =
  | { readonly kind: 'return'; readonly value: unknown }
  | { readonly kind: 'throw'; readonly error: unknown }
  | SuspendOutcome

export interface TurnSetup {
  /** The function's code version (computed only when a coroutine starts). */
  readonly version: () => string
  readonly resume?: { readonly journal: Journal; readonly pollResult: PollResult } | undefined
  readonly endpoint: string | undefined
  readonly maxJournalBytes?: number | undefined
  /** The endpoint's classifiers (a step retries the errors they classify as retried). */
  readonly classifiers?: ReadonlyMap<ErrorClass, ErrorClassifier['status']> | undefined
  /** Told when the function carries on after its turn suspended (it was busy with I/O). */
  readonly onWarning?: ((message: string) => void) | undefined
}

/**
 * Runs `handler(...args)` in `scope` and resolves with whichever comes first: the function settles,
 * or its coroutine turn ends (a Poll, a divergence). A function that starts no durable operation
 * costs one promise more than a plain call.
 */
export function runTurn(
  handler: (...args: never[]) => unknown,
  args: unknown[],
  scope: CallScope,
  setup: TurnSetup,
): Promise<TurnResult> {
  return new Turn(args, scope, setup).run(handler as (...a: unknown[]) => unknown)
}

const RESOLVED = Promise.resolve()

/** One turn: its own coroutine slot, settled once (one object per run instead of a closure per step). */
class Turn implements CoroutineSlot {
  coroutine: Coroutine | undefined
  private done = false
  private resolve!: (result: TurnResult) => void

  constructor(
    private readonly args: unknown[],
    private readonly scope: CallScope,
    private readonly setup: TurnSetup,
  ) {}

  run(handler: (...args: unknown[]) => unknown): Promise<TurnResult> {
    const turn = new Promise<TurnResult>((resolve) => {
      this.resolve = resolve
    })
    if (this.setup.resume !== undefined) this.coroutine = this.make()
    attachCoroutine(this.scope, this)
    let result: unknown
    let threw = false
    try {
      result = runWithCall(this.scope, () => handler(...this.args))
    } catch (error) {
      result = error
      threw = true
    }
    this.coroutine?.start()
    // A throw, or a value that cannot be a thenable (most functions that do not await): settled in the
    // same microtask turn as a promise of it would be, without making that promise.
    if (threw) RESOLVED.then(() => this.settle({ kind: 'throw', error: result }))
    else if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      RESOLVED.then(() => this.settle({ kind: 'return', value: result }))
    } else {
      Promise.resolve(result).then(
        (value) => this.settle({ kind: 'return', value }),
        (error: unknown) => this.settle({ kind: 'throw', error }),
      )
    }
    return turn
  }

  make(): Coroutine {
    const setup = this.setup
    return new Coroutine({
      function: this.scope.function,
      version: setup.version(),
      args: this.args,
      endpoint: setup.endpoint,
      resume: setup.resume,
      onSuspend: (result) => this.finish(result),
      classifiers: setup.classifiers,
      onWarning: setup.onWarning,
      ...(setup.maxJournalBytes === undefined ? {} : { maxJournalBytes: setup.maxJournalBytes }),
    })
  }

  private finish(result: TurnResult): void {
    if (this.done) return
    this.done = true
    this.resolve(result)
  }

  private settle(outcome: TurnResult): void {
    // Settling after the turn answered: the function was still busy when it suspended.
    if (this.done) this.coroutine?.late(outcome.kind === 'return' ? 'it returned' : 'it threw')
    else this.finish(this.coroutine?.settled() ?? outcome)
  }
}
