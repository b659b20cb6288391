import { dspError } from '../../schemas/errors/dspError.js'
import type { BuiltCall } from '../client/builtCall.js'
import type { DurationInput } from '../client/callOptions.js'
import { toMilliseconds } from '../client/duration.js'
import { toFlowOptions } from '../client/flowDeclaration.js'
import { toTailCall } from '../client/tailCall.js'
import { clockNow } from '../context/clock.js'
import { newUuid } from './coroutine.js'
import { currentCoroutine as current } from './currentCoroutine.js'
import { insideStep } from './stepScope.js'

/**
 * The durable form of `client.f.call(...)` inside a running dispatch function: a child call whose
 * result is journaled. Undefined outside one (the client then dispatches and waits as usual).
 */
export function durableCall(call: BuiltCall): Promise<unknown> | undefined {
  if (insideStep()) {
    throw dspError(
      'DSP2263',
      `${call.function}.call() inside a step: a step's fn is not replayed, so a durable call made in it cannot be journaled`,
    )
  }
  const coroutine = current()
  if (coroutine === undefined) return undefined
  // A child call on the wire (the protocol's Call) has an expiration and nothing else of CallOptions.
  const unsupported = Object.keys(call.options).filter(
    (key) => key !== 'expiration' && key !== 'detached' && call.options[key as keyof typeof call.options] !== undefined,
  )
  if (unsupported.length > 0) {
    throw dspError(
      'DSP2010',
      `${call.function}.call(): ${unsupported.join(', ')} cannot be set on a durable call inside a running dispatch function (a child call carries only expiration and detached)`,
      {
        hint: `leave ${unsupported.length === 1 ? 'it' : 'them'} out, or dispatch the call with dispatchClient.${call.function}(...args, options) and keep its id`,
      },
    )
  }
  const wire = toTailCall(call, coroutine.endpoint)
  if (call.options.detached === true) wire.detached = true
  // The child's declared flow options travel with it, as with a dispatch; its input alone is journaled.
  const flow = toFlowOptions(call.function, call.flow, call.args)
  if (flow !== undefined) wire.flow = flow
  return coroutine.call(call.function, wire)
}

/**
 * `Promise.all` for durable calls: resolves to every result in order, rejects with the first
 * failure. Inside a coroutine the scheduler resumes the function only once all of them are in.
 *
 * @example
 * ```ts
 * const users = await all(ids.map((id) => dispatchClient.getUser.call(id)))
 * ```
 */
export function all<T extends readonly unknown[] | []>(values: T): Promise<{ -readonly [P in keyof T]: Awaited<T[P]> }>
export function all<T>(values: Iterable<T | PromiseLike<T>>): Promise<Awaited<T>[]>
export function all(values: Iterable<unknown>): Promise<unknown> {
  const list = [...values]
  current()?.group(list, true)
  return Promise.all(list)
}

/** `Promise.allSettled` for durable calls: every outcome, in order. */
export function allSettled<T extends readonly unknown[] | []>(
  values: T,
): Promise<{ -readonly [P in keyof T]: PromiseSettledResult<Awaited<T[P]>> }>
export function allSettled<T>(values: Iterable<T | PromiseLike<T>>): Promise<PromiseSettledResult<Awaited<T>>[]>
export function allSettled(values: Iterable<unknown>): Promise<unknown> {
  const list = [...values]
  current()?.group(list, true)
  return Promise.allSettled(list)
}

/** `Promise.any` for durable calls: the first success; an AggregateError of every failure when all fail. */
export function any<T extends readonly unknown[] | []>(values: T): Promise<Awaited<T[number]>>
export function any<T>(values: Iterable<T | PromiseLike<T>>): Promise<Awaited<T>>
export function any(values: Iterable<unknown>): Promise<unknown> {
  const list = [...values]
  current()?.group(list, false)
  return Promise.any(list)
}

/** `Promise.race` for durable calls (and durable timers): the first to settle, success or failure. */
export function race<T extends readonly unknown[] | []>(values: T): Promise<Awaited<T[number]>>
export function race<T>(values: Iterable<T | PromiseLike<T>>): Promise<Awaited<T>>
export function race(values: Iterable<unknown>): Promise<unknown> {
  const list = [...values]
  current()?.group(list, false)
  return Promise.race(list)
}

/**
 * A durable timer: inside a dispatch function the scheduler resumes the function once `duration`
 * has passed (no process holds a timer; it survives restarts, and never fires early). Outside one,
 * a plain timer.
 *
 * @example
 * ```ts
 * await sleep('10m')
 * ```
 */
export function sleep(duration: DurationInput): Promise<void> {
  const ms = toMilliseconds(duration, 'sleep')
  const coroutine = current()
  if (coroutine !== undefined) return coroutine.sleep(ms)
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Ships new logic without restarting runs already in flight (with a declared `version` on the
 * route, which keeps edits from restarting them): true on a new run and on a run that reaches this
 * point for the first time under the new code, false when the run is replayed from a journal that
 * went past this point before the patch existed. Journaled like any durable operation. Outside a
 * dispatch function, true.
 *
 * @example
 * ```ts
 * const fee = patched('fee-in-cents') ? await dispatchClient.feeCents.call(order) : await dispatchClient.fee.call(order)
 * ```
 */
export function patched(id: string): boolean {
  if (typeof id !== 'string' || id === '') {
    throw dspError('DSP2261', `patched(${JSON.stringify(id)}): the id must be a non-empty string`)
  }
  return current()?.patched(id) ?? true
}

/** The current time, the same on every replay of a coroutine (journaled). */
export function now(): Date {
  const coroutine = current()
  return new Date(coroutine === undefined ? clockNow() : coroutine.value('now', clockNow))
}

/** `Math.random()`, the same on every replay of a coroutine (journaled). */
export function random(): number {
  return current()?.value('random', Math.random) ?? Math.random()
}

/** A random UUID, the same on every replay of a coroutine (journaled). */
export function uuid(): string {
  return current()?.value('uuid', newUuid) ?? newUuid()
}
