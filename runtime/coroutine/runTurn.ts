import type { PollResult } from '../../schemas/run.js'
import type { CallScope } from '../context/callScope.js'
import { runWithCall } from '../context/currentCall.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { Coroutine, type SuspendOutcome } from './coroutine.js'
import type { Journal } from './journal.js'
import { attachCoroutine } from './scopeCoroutine.js'

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
  return new Promise<TurnResult>((resolve) => {
    let done = false
    const finish = (result: TurnResult) => {
      if (done) return
      done = true
      resolve(result)
    }
    const make = () =>
      new Coroutine({
        function: scope.function,
        version: setup.version(),
        args,
        endpoint: setup.endpoint,
        resume: setup.resume,
        onSuspend: finish,
        classifiers: setup.classifiers,
        onWarning: setup.onWarning,
        ...(setup.maxJournalBytes === undefined ? {} : { maxJournalBytes: setup.maxJournalBytes }),
      })
    const slot = attachCoroutine(scope, make, setup.resume !== undefined)
    let result: unknown
    try {
      result = runWithCall(scope, () => (handler as (...a: unknown[]) => unknown)(...args))
    } catch (error) {
      result = Promise.reject(error)
    }
    slot.coroutine?.start()
    const settle = (outcome: TurnResult) => {
      // Settling after the turn answered: the function was still busy when it suspended.
      if (done) slot.coroutine?.late(outcome.kind === 'return' ? 'it returned' : 'it threw')
      else finish(slot.coroutine?.settled() ?? outcome)
    }
    Promise.resolve(result).then(
      (value) => settle({ kind: 'return', value }),
      (error: unknown) => settle({ kind: 'throw', error }),
    )
  })
}
