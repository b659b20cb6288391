/** What watches a signal: told once when it aborts (an AbortController passes the abort on as it is). */
export interface AbortWatcher {
  abort(): void
}

/** The watchers of each signal, in a set that goes when the signal does. */
const watchers = new WeakMap<AbortSignal, Set<AbortWatcher>>()
// The attempts of one delivery loop share its signal: the last one looked up is nearly always asked again.
let lastSignal: AbortSignal | undefined
let lastWatchers: Set<AbortWatcher> | undefined

function watchersOf(signal: AbortSignal): Set<AbortWatcher> {
  if (signal === lastSignal) return lastWatchers!
  let set = watchers.get(signal)
  if (set === undefined) {
    const made = new Set<AbortWatcher>()
    set = made
    watchers.set(signal, made)
    signal.addEventListener(
      'abort',
      () => {
        for (const watcher of [...made]) watcher.abort()
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
 * Tells `watcher` once when `signal` aborts (at once, synchronously, when it already has), until
 * {@link unwatchAbort}. A signal gets one listener whatever the number of watchers: the attempts of a
 * delivery loop share its signal, and an AbortSignal walks its whole list of listeners on every
 * addition (and warns past ten).
 */
export function watchAbort(signal: AbortSignal, watcher: AbortWatcher): void {
  if (signal.aborted) {
    watcher.abort()
    return
  }
  watchersOf(signal).add(watcher)
}

/** Stops {@link watchAbort}'s watch of `signal` for `watcher`. */
export function unwatchAbort(signal: AbortSignal, watcher: AbortWatcher): void {
  if (signal === lastSignal) lastWatchers!.delete(watcher)
  else watchers.get(signal)?.delete(watcher)
}
