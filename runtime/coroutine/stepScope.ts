import { AsyncLocalStorage } from 'node:async_hooks'

// Set while a durable step's `fn` runs. Its own storage rather than a field of the call scope: the
// step still runs in its call (currentCall() works in it), it only must not reach the coroutine.
const storage = new AsyncLocalStorage<true>()

/** Runs `fn` as the body of a durable step: code it runs is not replayed, so it starts no durable operation. */
export function runInsideStep<T>(fn: () => T): T {
  return storage.run(true, fn)
}

/** True inside the `fn` of a durable step. */
export function insideStep(): boolean {
  return storage.getStore() === true
}
