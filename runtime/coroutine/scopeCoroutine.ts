import type { CallScope } from '../context/callScope.js'
import type { Coroutine } from './coroutine.js'

/** A run's durable coroutine: made when the run resumes one, else on its first durable operation. */
export interface CoroutineSlot {
  coroutine: Coroutine | undefined
  make(): Coroutine
}

// Kept on the scope under a key of this module rather than as a field of it, so the call context knows
// nothing of coroutines (a property, not a WeakMap entry: one per run, and cheaper to make and collect).
const SLOT = Symbol('coroutine slot')

interface Slotted {
  [SLOT]?: CoroutineSlot
}

/** Gives `scope` its coroutine's slot: {@link coroutineOf} makes the coroutine on first use if the slot has none. */
export function attachCoroutine(scope: CallScope, slot: CoroutineSlot): void {
  ;(scope as Slotted)[SLOT] = slot
}

/** The durable coroutine of the run in `scope`, made on first use; undefined where none was attached. */
export function coroutineOf(scope: CallScope): Coroutine | undefined {
  const slot = (scope as Slotted)[SLOT]
  if (slot === undefined) return undefined
  slot.coroutine ??= slot.make()
  return slot.coroutine
}
