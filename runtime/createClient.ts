import type { CallInfo } from '../schemas/callService.js'
import type { BuiltCall } from './client/builtCall.js'
import type { CallOptions } from './client/callOptions.js'
import { createCallServiceClient } from './client/callService.js'
import type { ClientOptions } from './client/clientConfig.js'
import { dispatchBatch } from './client/dispatchBatch.js'
import type { FunctionDescriptor } from './client/flowDeclaration.js'
import { waitForResult } from './client/waitForResult.js'
import { durableCall } from './coroutine/durable.js'

/** The static shape of one dispatch function: its positional arguments and its output. */
export interface FunctionSignature {
  readonly args: readonly unknown[]
  readonly output: unknown
}

/** One member of a generated client. */
export interface ClientFunction<Args extends readonly unknown[], Output> {
  /** Dispatches one call; resolves to its dispatch id once the scheduler has durably recorded it. */
  (...args: [...Args, options?: CallOptions]): Promise<string>
  /**
   * Dispatches one call and waits for its output (a durable call inside a running dispatch function).
   * Takes the same options as dispatching; inside a running dispatch function a child call carries
   * only `expiration`, and the other options are refused (DSP2010).
   */
  call(...args: [...Args, options?: CallOptions]): Promise<Output>
  /** Prepares a call for {@link dispatchBatch}. */
  build(...args: [...Args, options?: CallOptions]): BuiltCall<Output>
  /**
   * Sends the signal `name` with a JSON `payload` to the call `dispatchId` (a coroutine waiting
   * with `waitForSignal(name)` resumes with it), through this client's scheduler; resolves to the
   * call as the scheduler then knows it. The same as `createCallServiceClient().signal(...)`.
   */
  signal(dispatchId: string, name: string, payload?: unknown): Promise<CallInfo>
}

/** A generated client: one member per dispatch function. */
export type DispatchClient<F extends Record<string, FunctionSignature>> = {
  readonly [K in keyof F]: ClientFunction<F[K]['args'], F[K]['output']>
}

/** Splits `[...args, options?]` using the function's arity, known at generation time. */
function split(arity: number, all: readonly unknown[]): [unknown[], CallOptions] {
  const args = all.slice(0, arity)
  const options = (all.length > arity ? all[arity] : undefined) ?? {}
  return [args, options as CallOptions]
}

/**
 * Builds a client from the function names and arities that `dispatch gen` emits (with its declared
 * flow options, `{ arity, flow }`, for a function that has some). Calls go to
 * `options.endpoint` (default `DISPATCH_ENDPOINT_URL`) through the scheduler at `DISPATCH_API_URL`.
 * Nothing of the functions' implementation is loaded: the generated file imports types only.
 *
 * @example
 * ```ts
 * const billing = createClient<{ charge: { args: [string, number]; output: void } }>({ charge: 2 }, { endpoint: 'http://127.0.0.1:8001' })
 * const id = await billing.charge('cus_1', 100)
 * ```
 */
export function createClient<F extends Record<string, FunctionSignature>>(
  arities: { readonly [K in keyof F]: number | FunctionDescriptor },
  client: ClientOptions = {},
): DispatchClient<F> {
  const members: Record<string, unknown> = {}
  for (const [name, described] of Object.entries(arities) as [string, number | FunctionDescriptor][]) {
    const { arity, flow } = typeof described === 'number' ? { arity: described, flow: undefined } : described
    const build = (...all: unknown[]): BuiltCall => {
      const [args, options] = split(arity, all)
      return flow === undefined
        ? { function: name, args, options, client }
        : { function: name, args, options, client, flow }
    }
    const dispatch = async (...all: unknown[]): Promise<string> => {
      const [id] = await dispatchBatch([build(...all)])
      return id!
    }
    // Not async: inside a coroutine the durable call's own promise is returned, so all()/race() know it.
    const call = (...all: unknown[]): Promise<unknown> => {
      const built = build(...all)
      return durableCall(built) ?? dispatchBatch([built]).then(([id]) => waitForResult(id!, client))
    }
    const signal = (dispatchId: string, signalName: string, payload?: unknown): Promise<CallInfo> => {
      const api: { apiUrl?: string; apiKey?: string } = {}
      if (client.apiUrl !== undefined) api.apiUrl = client.apiUrl
      if (client.apiKey !== undefined) api.apiKey = client.apiKey
      return createCallServiceClient(api).signal(dispatchId, signalName, payload)
    }
    members[name] = Object.assign(dispatch, { call, build, signal })
  }
  return Object.freeze(members) as DispatchClient<F>
}
