import { type ErrorMessage, type Status, statusOfHttpCode } from 'dispatch-functions/protocol'

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA'])
const TCP = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
])
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
const TLS = new Set([
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'HOSTNAME_MISMATCH',
])

/** The first `code` along an error's `cause` chain (undici wraps the socket error). */
function codeOf(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR') return e.code
    e = e.cause as typeof e
  }
  return undefined
}

/**
 * The status of a delivery that got no HTTP answer (docs/protocol.md §9.3): name
 * resolution → DNS_ERROR, connection refused/reset → TCP_ERROR, TLS → TLS_ERROR, timeouts →
 * TIMEOUT, an answer over the size limit → INVALID_RESPONSE, any other I/O failure → TEMPORARY_ERROR.
 */
export function transportStatus(error: unknown): { status: Status; error: ErrorMessage } {
  const code = codeOf(error)
  const message = error instanceof Error ? error.message : String(error)
  const status: Status =
    code === undefined
      ? 'STATUS_TEMPORARY_ERROR'
      : DNS.has(code)
        ? 'STATUS_DNS_ERROR'
        : TCP.has(code)
          ? 'STATUS_TCP_ERROR'
          : TIMEOUT.has(code)
            ? 'STATUS_TIMEOUT'
            : TLS.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')
              ? 'STATUS_TLS_ERROR'
              : code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE'
                ? 'STATUS_INVALID_RESPONSE'
                : 'STATUS_TEMPORARY_ERROR'
  return { status, error: { type: code ?? (error instanceof Error ? error.name : 'Error'), message } }
}

/**
 * The status of a non-2xx answer from the endpoint. The Connect refusals before a function runs
 * (400/401/403/404) are not retried: the same request would be refused again (fix the key or the
 * route, then redrive). 408 is a timeout and 429 throttling; everything else is HTTP_ERROR (retried).
 */
export function httpStatus(code: number): Status {
  return statusOfHttpCode(code) ?? 'STATUS_HTTP_ERROR'
}
