import type { Call } from '../../schemas/call.js'
import { toProtoDuration } from '../../schemas/duration.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { activeTraceparent } from '../tracing/traceContext.js'
import type { BuiltCall } from './builtCall.js'
import { encodeArgs } from './dispatchBatch.js'
import { toMilliseconds } from './duration.js'

/**
 * What {@link tailCall} throws: the endpoint catches it and answers `exit.tailCall`. It is not an
 * Error, so `catch (e) { if (e instanceof Error) ... }` in user code lets it through.
 */
export class TailCallSignal {
  readonly call: BuiltCall
  constructor(call: BuiltCall) {
    this.call = call
  }
}

/**
 * Ends this run by replacing it with another call (same dispatch lineage): the scheduler runs
 * `call` and its result becomes this call's result. Typed `never` so `return tailCall(...)` fits any
 * function's return type.
 *
 * @example
 * ```ts
 * export async function step(n: number): Promise<number> {
 *   if (n < 10) return tailCall(dispatchClient.step.build(n + 1))
 *   return n
 * }
 * ```
 */
export function tailCall(call: BuiltCall): never {
  throw new TailCallSignal(call)
}

/**
 * The wire `Call` of a tail call: the endpoint of the built call's client, else `defaultEndpoint`
 * (the plugin's option or `DISPATCH_ENDPOINT_URL`); omitted when neither is known, which the
 * scheduler reads as "the same endpoint".
 */
export function toTailCall(call: BuiltCall, defaultEndpoint: string | undefined): Call {
  const endpoint = call.client.endpoint ?? defaultEndpoint
  const wire: Call = { function: call.function, input: { '@type': VALUE_TYPE_URL, value: encodeArgs(call.args) } }
  if (endpoint !== undefined && endpoint !== '') wire.endpoint = endpoint
  if (call.options.expiration !== undefined) {
    wire.expiration = toProtoDuration(toMilliseconds(call.options.expiration, 'expiration'))
  }
  // A tail call or a coroutine's child call made inside the run span is that span's child.
  const traceparent = activeTraceparent()
  if (traceparent !== undefined) wire.traceparent = traceparent
  return wire
}
