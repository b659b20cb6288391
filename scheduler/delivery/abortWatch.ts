/** What is told when a signal aborts: the attempts watching it, in a set that ends when the signal does. */
const watchers = new WeakMap<AbortSignal, Set<() => void>>()
// The attempts of one delivery loop share its signal: the last one looked up is nearly always asked again.
let lastSignal: AbortSignal | undefined
let lastWatchers: Set<() => void> | undefined

function watchersOf(signal: AbortSignal): Set<() => void> {
  if (signal === lastSignal) return lastWatchers!
  let set = watchers.get(signal)
  if (set === undefined) {
    const made = new Set<() => void>()
    set = made
    watchers.set(signal, made)
    signal.addEventListener(
      'abort',
      () => {
        for (const onAbort of [...made]) onAbort()
        made.clear()
      },
      { once: true },
    )
  }
  lastSignal = signal
  lastWatchers = set
  return set
}

/**
 * Calls `onAbort` once when `signal` aborts (at once, synchronously, when it already has), until
 * {@link unwatchAbort}. A signal gets one listener whatever the number of watchers: the attempts of a
 * delivery loop share its signal, and an AbortSignal walks its whole list of listeners on every
 * addition (and warns past ten).
 */
export function watchAbort(signal: AbortSignal, onAbort: () => void): void {
  if (signal.aborted) {
    onAbort()
    return
  }
  watchersOf(signal).add(onAbort)
}

/** Stops {@link watchAbort}'s watch of `signal` for `onAbort`. */
export function unwatchAbort(signal: AbortSignal, onAbort: () => void): void {
  if (signal === lastSignal) lastWatchers!.delete(onAbort)
  else watchers.get(signal)?.delete(onAbort)
}
