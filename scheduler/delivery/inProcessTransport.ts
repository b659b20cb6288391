import type { Endpoint } from 'dispatch-functions/internal'
import { RUN_PATH, type RunRequest, statusOfHttpCode } from 'dispatch-functions/protocol'
import type { DeliveryTransport, PostOutcome } from './endpointClient.js'

const TIMED_OUT = Symbol('timed out')
const ENCODER = new TextEncoder()

/**
 * Delivers attempts to endpoints in this process: the RunRequest goes through the endpoint core
 * (decode, validate, run, encode — the same code an HTTP endpoint runs) without a socket or a
 * signature. `endpointFor` picks the endpoint of a URL, or undefined when nothing serves it here;
 * those calls go to `fallback` (the HTTP client) when there is one, else fail as NOT_FOUND with
 * `notServed`'s message. As over HTTP, an attempt that outlives its timeout (or is aborted at
 * shutdown) ends as STATUS_TIMEOUT and its call is retried; the function itself is not stopped.
 */
export class InProcessTransport implements DeliveryTransport {
  constructor(
    private readonly endpointFor: (url: string) => Endpoint<unknown> | undefined,
    private readonly fallback?: DeliveryTransport,
    private readonly notServed: (url: string, functionName: string) => string = (url, fn) =>
      `nothing in this process serves ${url} (${fn})`,
  ) {}

  async post(endpoint: string, request: RunRequest, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
    const target = this.endpointFor(endpoint)
    if (target === undefined && this.fallback !== undefined) {
      return this.fallback.post(endpoint, request, timeoutMs, signal)
    }
    if (target === undefined) {
      return {
        kind: 'failure',
        status: 'STATUS_NOT_FOUND',
        error: { type: 'NoEndpoint', message: this.notServed(endpoint, request.function) },
      }
    }
    const body = ENCODER.encode(JSON.stringify(request))
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    const cut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), Math.max(1, timeoutMs))
      onAbort = () => resolve(TIMED_OUT)
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      const answer = await Promise.race([
        target.handle({
          method: 'POST',
          path: RUN_PATH,
          authority: 'in-process',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          body,
        }),
        cut,
      ])
      if (answer === TIMED_OUT) {
        return {
          kind: 'failure',
          status: 'STATUS_TIMEOUT',
          error: {
            type: 'Timeout',
            message: signal.aborted
              ? `the attempt of ${request.function} was abandoned (the scheduler is shutting down)`
              : `${request.function} did not answer within ${timeoutMs} ms`,
          },
        }
      }
      if (answer.statusCode >= 200 && answer.statusCode < 300) return { kind: 'answer', body: answer.body }
      return {
        kind: 'failure',
        status: statusOfHttpCode(answer.statusCode) ?? 'STATUS_HTTP_ERROR',
        error: { type: `HTTP ${answer.statusCode}`, message: answer.body.slice(0, 2000) },
      }
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
    }
  }
}
