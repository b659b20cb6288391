import { AsyncLocalStorage } from 'node:async_hooks'
import { dspError } from '../../schemas/errors/dspError.js'

/** What the running call knows about itself; handlers receive only their arguments and read this. */
export interface CallContext {
  /** The function being run. */
  readonly function: string
  readonly dispatchId: string | undefined
  readonly parentDispatchId: string | undefined
  readonly rootDispatchId: string | undefined
  /** When the call was first dispatched (not reset by tail calls). */
  readonly creationTime: Date | undefined
  /** After this instant the scheduler gives up on the call. */
  readonly expirationTime: Date | undefined
  /** Fires (with a TimeoutError reason) at `expirationTime`; hand it to `fetch` and friends. */
  readonly signal: AbortSignal
}

const storage = new AsyncLocalStorage<CallContext>()

/**
 * The context of the dispatch call running in this async scope.
 *
 * @example
 * ```ts
 * export async function publish(url: string, payload: Payload): Promise<void> {
 *   const { dispatchId, signal } = currentCall()
 *   const r = await fetch(url, { method: 'POST', body: JSON.stringify(payload), headers: { 'idempotency-key': dispatchId ?? '' }, signal })
 *   throwForResponse(r)
 * }
 * ```
 */
export function currentCall(): CallContext {
  const context = storage.getStore()
  if (context === undefined) {
    throw dspError('DSP2210', 'currentCall() was called outside a running dispatch function', {
      hint: 'call it from a function the endpoint runs (or from code it awaits), not at import time or from a timer',
    })
  }
  return context
}

/** Like {@link currentCall}, but undefined outside a dispatch function (for code that runs both ways). */
export function findCurrentCall(): CallContext | undefined {
  return storage.getStore()
}

/** Runs `fn` with `context` as the current call (the endpoint's side of {@link currentCall}). */
export function runWithCall<T>(context: CallContext, fn: () => T): T {
  return storage.run(context, fn)
}
