import type { Endpoint } from 'dispatch-functions/internal'
import { RUN_PATH, type RunRequest, statusOfHttpCode } from 'dispatch-functions/protocol'
import type { DeliveryTransport, PostOutcome } from './endpointClient.js'

/**
 * Delivers attempts to endpoints in this process: the RunRequest goes through the endpoint core
 * (decode, validate, run, encode — the same code an HTTP endpoint runs) without a socket or a
 * signature. `endpointFor` picks the endpoint of a URL, or undefined when nothing serves it here;
 * those calls go to `fallback` (the HTTP client) when there is one, else fail as NOT_FOUND.
 */
export class InProcessTransport implements DeliveryTransport {
  constructor(
    private readonly endpointFor: (url: string) => Endpoint<unknown> | undefined,
    private readonly fallback?: DeliveryTransport,
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
        error: {
          type: 'NoEndpoint',
          message: `nothing in this process serves ${endpoint} (${request.function})`,
        },
      }
    }
    const body = Buffer.from(JSON.stringify(request))
    const answer = await target.handle({
      method: 'POST',
      path: RUN_PATH,
      authority: 'test-environment',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    })
    if (answer.statusCode >= 200 && answer.statusCode < 300) return { kind: 'answer', body: answer.body }
    return {
      kind: 'failure',
      status: statusOfHttpCode(answer.statusCode) ?? 'STATUS_HTTP_ERROR',
      error: { type: `HTTP ${answer.statusCode}`, message: answer.body.slice(0, 2000) },
    }
  }
}
