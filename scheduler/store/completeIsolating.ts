import { refusedOutcome, unstorable } from './storableValues.js'
import type { Completion } from './store.js'

/**
 * Writes a batch of outcomes with `write` (one transaction); when it fails with an error that a value
 * of the batch caused (`causedByData`), finds the outcome at fault by halving the batch, records that
 * call alone as failed with the store's error, and writes the rest: one bad outcome never holds up the
 * others. Any other failure (the store unavailable) is thrown, with nothing recorded.
 */
export async function completeIsolating(
  completions: readonly Completion[],
  write: (batch: readonly Completion[]) => Promise<boolean[]>,
  causedByData: (error: unknown) => boolean,
): Promise<boolean[]> {
  if (completions.length === 0) return []
  try {
    return await write(completions)
  } catch (error) {
    if (!causedByData(error)) throw error
    if (completions.length === 1) {
      const c = completions[0]!
      const why = `the store refused the outcome ${c.kind} (${(error as Error).message ?? String(error)})`
      return write([refusedOutcome(c, unstorable(c.dispatchId, why).message)])
    }
    const half = Math.ceil(completions.length / 2)
    const first = await completeIsolating(completions.slice(0, half), write, causedByData)
    const second = await completeIsolating(completions.slice(half), write, causedByData)
    return [...first, ...second]
  }
}
