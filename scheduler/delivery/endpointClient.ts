import type { KeyObject } from 'node:crypto'
import { Pool } from 'undici'
import { runUrl } from '../../runtime/fastify/runUrl.js'
import { signRequest } from '../../runtime/signing/index.js'
import type { ErrorMessage } from '../../schemas/error.js'
import type { RunRequest } from '../../schemas/run.js'
import type { Status } from '../../schemas/status.js'
import { httpStatus, transportStatus } from './transportStatus.js'

/** The largest RunResponse read from an endpoint; a bigger one is STATUS_INVALID_RESPONSE. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024

/** What one POST to an endpoint gave: a 2xx body to decode, or a status already decided. */
export type PostOutcome =
  | { readonly kind: 'answer'; readonly body: string }
  | { readonly kind: 'failure'; readonly status: Status; readonly error: ErrorMessage }

// The endpoint derives the `@authority` and `@path` it checks from its own URL with the same function.
export { runUrl }

/**
 * Signed POSTs of RunRequests over keep-alive connections: one undici Pool per endpoint origin,
 * so deliveries reuse connections instead of paying a TCP (and TLS) handshake each.
 */
export class EndpointClient {
  private readonly pools = new Map<string, Pool>()

  constructor(
    private readonly privateKey: KeyObject,
    private readonly connectionsPerOrigin: number,
  ) {}

  private poolFor(origin: string): Pool {
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: this.connectionsPerOrigin,
        keepAliveTimeout: 30_000,
        connectTimeout: 10_000,
        maxResponseSize: MAX_RESPONSE_BYTES,
      })
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** POSTs `request` to the endpoint; never throws. `signal` aborts it (timeout or shutdown). */
  async post(endpoint: string, request: RunRequest, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
    let url: URL
    try {
      url = runUrl(endpoint)
    } catch {
      return failure('STATUS_INVALID_ARGUMENT', 'InvalidEndpoint', `the endpoint ${endpoint} is not a URL`)
    }
    const body = JSON.stringify(request)
    const signature = signRequest({
      method: 'POST',
      url: url.href,
      headers: { 'content-type': 'application/json' },
      body,
      privateKey: this.privateKey,
    })
    // One controller and one timer per attempt: AbortSignal.timeout + AbortSignal.any cost several
    // times more per delivery (profiled in bench/e2e), and this is the hot path.
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(
      () => {
        timedOut = true
        controller.abort()
      },
      Math.max(1, timeoutMs),
    )
    const cancel = () => controller.abort()
    if (signal.aborted) controller.abort()
    else signal.addEventListener('abort', cancel, { once: true })
    try {
      const response = await this.poolFor(url.origin).request({
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': 'application/json', ...signature },
        body,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      const text = await response.body.text()
      if (response.statusCode >= 200 && response.statusCode < 300) return { kind: 'answer', body: text }
      return failure(
        httpStatus(response.statusCode),
        `HTTP ${response.statusCode}`,
        `${url.origin} answered HTTP ${response.statusCode}: ${connectMessage(text)}`,
      )
    } catch (error) {
      if (timedOut) {
        return failure('STATUS_TIMEOUT', 'Timeout', `no answer from ${url.origin} within ${timeoutMs} ms`)
      }
      const mapped = transportStatus(error)
      return { kind: 'failure', status: mapped.status, error: mapped.error }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', cancel)
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)))
  }
}

function failure(status: Status, type: string, message: string): PostOutcome {
  return { kind: 'failure', status, error: { type, message } }
}

/** The message of a Connect error body, or the start of whatever the body is. */
function connectMessage(text: string): string {
  try {
    const decoded = JSON.parse(text) as { code?: unknown; message?: unknown }
    if (typeof decoded.message === 'string') {
      return typeof decoded.code === 'string' ? `${decoded.code}: ${decoded.message}` : decoded.message
    }
  } catch {}
  return text.slice(0, 200) || '(empty body)'
}
