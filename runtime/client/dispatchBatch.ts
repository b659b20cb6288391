import type { DispatchCall } from '../../schemas/dispatch.js'
import { toProtoDuration } from '../../schemas/duration.js'
import { dspError } from '../../schemas/errors/dspError.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { withDispatchSpan } from '../tracing/dispatchSpan.js'
import { activeTraceparent } from '../tracing/traceContext.js'
import type { BuiltCall } from './builtCall.js'
import { type ClientOptions, ENV_FIX, resolveClientConfig } from './clientConfig.js'
import { toMilliseconds } from './duration.js'
import { toFlowOptions } from './flowDeclaration.js'

/** Positional arguments as they travel: trailing `undefined`s (omitted optionals) are dropped. */
export function encodeArgs(args: readonly unknown[]): unknown[] {
  let end = args.length
  while (end > 0 && args[end - 1] === undefined) end--
  return args.slice(0, end)
}

/** The wire form of a built call, for the scheduler's DispatchService. */
export function toDispatchCall(call: BuiltCall, endpoint: string): DispatchCall {
  const { options } = call
  const wire: DispatchCall = {
    endpoint,
    function: call.function,
    input: { '@type': VALUE_TYPE_URL, value: encodeArgs(call.args) },
  }
  if (options.idempotencyKey !== undefined) wire.idempotencyKey = options.idempotencyKey
  if (options.delay !== undefined) wire.delay = toProtoDuration(toMilliseconds(options.delay, 'delay'))
  if (options.notBefore !== undefined) wire.notBefore = options.notBefore.toISOString()
  if (options.expiration !== undefined)
    wire.expiration = toProtoDuration(toMilliseconds(options.expiration, 'expiration'))
  if (options.maxAttempts !== undefined) wire.maxAttempts = options.maxAttempts
  if (options.fairnessKey !== undefined) wire.fairnessKey = options.fairnessKey
  if (options.priority !== undefined) wire.priority = options.priority
  const flow = toFlowOptions(call.function, call.flow, call.args)
  if (flow !== undefined) wire.flow = flow
  // Dispatched inside a span: the call, its attempts and what they call continue that trace.
  const traceparent = activeTraceparent()
  if (traceparent !== undefined) wire.traceparent = traceparent
  return wire
}

/** How often a request the scheduler answered 429 or 503 is sent again before the client gives up. */
export const BUSY_RETRIES = 6
/** The longest wait between two of those tries, whatever Retry-After says. */
const MAX_BUSY_WAIT_MS = 30_000

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date); 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null) return 1000
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now
  return Number.isFinite(ms) ? Math.min(MAX_BUSY_WAIT_MS, Math.max(0, ms)) : 1000
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort)
      resolve()
    }, ms)
    const abort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

/**
 * POSTs a Connect JSON request to the scheduler's API and returns the decoded answer. A 429
 * (back-pressure) or 503 (the store cannot write) means the scheduler kept nothing of the request,
 * so it is sent again after the `Retry-After` the scheduler asked for, up to {@link BUSY_RETRIES} times.
 */
export async function postToScheduler(
  apiUrl: string,
  apiKey: string,
  path: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const payload = JSON.stringify(body)
  let response: Response
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(`${apiUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: payload,
        ...(signal ? { signal } : {}),
      })
    } catch (cause) {
      throw dspError('DSP2002', `cannot reach the scheduler at ${apiUrl}: ${(cause as Error).message}`, {
        hint: `start the scheduler (npx dispatch run -- <your app>), or point DISPATCH_API_URL at the running one: ${ENV_FIX}`,
        cause,
      })
    }
    if ((response.status !== 429 && response.status !== 503) || attempt >= BUSY_RETRIES) break
    await response.body?.cancel()
    // Full jitter on top of what the scheduler asked, so refused clients do not come back in step.
    const wait = retryAfterMs(response.headers.get('retry-after'))
    await pause(wait + Math.random() * Math.min(wait, 1000), signal)
  }
  const text = await response.text()
  let decoded: unknown
  try {
    decoded = text === '' ? {} : JSON.parse(text)
  } catch {
    decoded = { message: text.slice(0, 200) }
  }
  if (!response.ok) {
    const { code, message } = (decoded ?? {}) as { code?: string; message?: string }
    if (response.status === 413) {
      // Never retried: the same body would be refused again.
      throw dspError(
        'DSP2102',
        `the scheduler refused ${path}: the request body (${Buffer.byteLength(payload)} bytes) is over its size limit${message ? ` (${message})` : ''}`,
        {
          hint: 'dispatch fewer calls per batch, pass large inputs by reference (store them, send a key), or raise the scheduler bodyLimit',
        },
      )
    }
    if (response.status === 409 && code === 'already_exists') {
      throw dspError('DSP2103', `the scheduler refused ${path}: ${message ?? 'an idempotency key was reused'}`, {
        hint: 'an idempotency key names one call: reuse it only to repeat that call with the same input; give a new input a new key',
      })
    }
    const hint =
      response.status === 401
        ? `DISPATCH_API_KEY is not the key this scheduler accepts: ${ENV_FIX}`
        : response.status === 429 || response.status === 503
          ? `the scheduler stayed ${response.status === 429 ? 'overloaded' : 'unable to store calls'} through ${BUSY_RETRIES} retries; nothing of this request was kept: send it again later (npx dispatch calls stats shows the load)`
          : path.includes('ScheduleService')
            ? 'the message says what the scheduler found wrong; npx dispatch schedules list shows the schedules it knows'
            : 'the message says what the scheduler found wrong; npx dispatch calls list shows the calls it accepted'
    throw dspError(
      'DSP2003',
      `the scheduler refused ${path}: HTTP ${response.status} ${code ?? ''} ${message ?? ''}`.trim(),
      { hint, httpStatus: response.status },
    )
  }
  return decoded
}

/**
 * Dispatches calls as one atomic batch: all are durably recorded, or none are and this throws.
 * Resolves to the dispatch ids, in the order of the calls.
 *
 * @example
 * ```ts
 * const ids = await dispatchBatch([dispatchClient.publish.build(url, a), dispatchClient.publish.build(url, b)])
 * ```
 */
export async function dispatchBatch(calls: readonly BuiltCall[], options: ClientOptions = {}): Promise<string[]> {
  if (calls.length === 0) return []
  const first = calls[0]!
  const config = resolveClientConfig({ ...first.client, ...options })
  return withDispatchSpan(
    calls.map((call) => call.function),
    async () => {
      const wire = calls.map((call) =>
        toDispatchCall(call, resolveClientConfig({ ...config, ...call.client }).endpoint),
      )
      const answer = (await postToScheduler(config.apiUrl, config.apiKey, '/dispatch.sdk.v1.DispatchService/Dispatch', {
        calls: wire,
      })) as { dispatchIds?: unknown }
      const ids = answer.dispatchIds
      if (!Array.isArray(ids) || ids.length !== calls.length || !ids.every((id) => typeof id === 'string')) {
        throw dspError('DSP2004', 'the scheduler answered Dispatch without one id per call', {
          hint: `DISPATCH_API_URL must point at a dispatch-functions scheduler: ${ENV_FIX}`,
        })
      }
      return ids as string[]
    },
  )
}
