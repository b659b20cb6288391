import { type Status, statusOfHttpCode } from '../../schemas/status.js'
import { FunctionError } from './functionError.js'

/** The part of a fetch `Response` (or any HTTP response) the mapping reads. */
export interface ResponseLike {
  readonly status: number
  readonly statusText?: string
  readonly url?: string
}

/**
 * The status a failed call gets for an HTTP response its function received (docs/protocol.md §9.2): 400 →
 * INVALID_ARGUMENT, 401, 403, 404, 408 → TIMEOUT, 429 → THROTTLED, 501 → PERMANENT_ERROR, other
 * 5xx → TEMPORARY_ERROR, anything else → PERMANENT_ERROR; 2xx → OK.
 */
export function statusOfResponse(response: ResponseLike): Status {
  const code = response.status
  if (code >= 200 && code < 300) return 'STATUS_OK'
  if (code === 501) return 'STATUS_PERMANENT_ERROR'
  const named = statusOfHttpCode(code)
  if (named !== undefined) return named
  return code >= 500 && code < 600 ? 'STATUS_TEMPORARY_ERROR' : 'STATUS_PERMANENT_ERROR'
}

/** The error an HTTP response maps to: a {@link FunctionError} whose status is {@link statusOfResponse}'s. */
export class HttpResponseError extends FunctionError {
  /** The HTTP status code received. */
  readonly responseStatus: number

  constructor(response: ResponseLike) {
    const status = statusOfResponse(response)
    const where = response.url ? ` from ${response.url}` : ''
    super(
      status === 'STATUS_OK' ? 'STATUS_PERMANENT_ERROR' : status,
      `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${where}`,
    )
    this.name = 'HttpResponseError'
    this.responseStatus = response.status
  }
}

/**
 * The error to throw for an HTTP response (`throw httpError(r)`), with the status of docs/protocol.md §9.2.
 *
 * @example
 * ```ts
 * const r = await fetch(url, { method: 'POST', body })
 * if (!r.ok) throw httpError(r)   // 429 and 5xx retried, other 4xx not
 * ```
 */
export function httpError(response: ResponseLike): HttpResponseError {
  return new HttpResponseError(response)
}

/**
 * Returns the response when it is 2xx, throws {@link httpError} of it otherwise.
 *
 * @example
 * ```ts
 * const data = await throwForResponse(await fetch(url)).json()
 * ```
 */
export function throwForResponse<R extends ResponseLike>(response: R): R {
  if (response.status >= 200 && response.status < 300) return response
  throw new HttpResponseError(response)
}
