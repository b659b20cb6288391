import type { CallScope } from '../context/callScope.js'
import type { Coroutine } from './coroutine.js'

/** A run's durable coroutine: made when the run resumes one, else on its first durable operation. */
export interface CoroutineSlot {
  coroutine: Coroutine | undefined
  readonly make: () => Coroutine
}

// Kept beside the scope rather than on it, so the call context knows nothing of coroutines.
const slots = new WeakMap<CallScope, CoroutineSlot>()

/** Gives `scope` its coroutine: made now when `resuming`, else by {@link coroutineOf} on first use. */
export function attachCoroutine(scope: CallScope, make: () => Coroutine, resuming: boolean): CoroutineSlot {
  const slot: CoroutineSlot = { coroutine: resuming ? make() : undefined, make }
  slots.set(scope, slot)
  return slot
}

/** The durable coroutine of the run in `scope`, made on first use; undefined where none was attached. */
export function coroutineOf(scope: CallScope): Coroutine | undefined {
  const slot = slots.get(scope)
  if (slot === undefined) return undefined
  slot.coroutine ??= slot.make()
  return slot.coroutine
}
