import { type Static, Type } from 'typebox'

/** Every status of `dispatch.sdk.v1.Status`, by number (docs/protocol.md §9.1). */
export const STATUS_NAMES = [
  'STATUS_UNSPECIFIED',
  'STATUS_OK',
  'STATUS_TIMEOUT',
  'STATUS_THROTTLED',
  'STATUS_INVALID_ARGUMENT',
  'STATUS_INVALID_RESPONSE',
  'STATUS_TEMPORARY_ERROR',
  'STATUS_PERMANENT_ERROR',
  'STATUS_INCOMPATIBLE_STATE',
  'STATUS_DNS_ERROR',
  'STATUS_TCP_ERROR',
  'STATUS_TLS_ERROR',
  'STATUS_HTTP_ERROR',
  'STATUS_UNAUTHENTICATED',
  'STATUS_PERMISSION_DENIED',
  'STATUS_NOT_FOUND',
] as const

/** A status as proto3 JSON writes it: the enum value's name. */
export const Status = Type.Union([
  Type.Literal('STATUS_UNSPECIFIED'),
  Type.Literal('STATUS_OK'),
  Type.Literal('STATUS_TIMEOUT'),
  Type.Literal('STATUS_THROTTLED'),
  Type.Literal('STATUS_INVALID_ARGUMENT'),
  Type.Literal('STATUS_INVALID_RESPONSE'),
  Type.Literal('STATUS_TEMPORARY_ERROR'),
  Type.Literal('STATUS_PERMANENT_ERROR'),
  Type.Literal('STATUS_INCOMPATIBLE_STATE'),
  Type.Literal('STATUS_DNS_ERROR'),
  Type.Literal('STATUS_TCP_ERROR'),
  Type.Literal('STATUS_TLS_ERROR'),
  Type.Literal('STATUS_HTTP_ERROR'),
  Type.Literal('STATUS_UNAUTHENTICATED'),
  Type.Literal('STATUS_PERMISSION_DENIED'),
  Type.Literal('STATUS_NOT_FOUND'),
])
export type Status = (typeof STATUS_NAMES)[number]

/** Statuses the scheduler retries (docs/protocol.md §9.1); INCOMPATIBLE_STATE from the call's original input. */
export const RETRIED_STATUSES: ReadonlySet<Status> = new Set<Status>([
  'STATUS_TIMEOUT',
  'STATUS_THROTTLED',
  'STATUS_TEMPORARY_ERROR',
  'STATUS_INCOMPATIBLE_STATE',
  'STATUS_DNS_ERROR',
  'STATUS_TCP_ERROR',
  'STATUS_TLS_ERROR',
  'STATUS_HTTP_ERROR',
])

export function isRetried(status: Status): boolean {
  return RETRIED_STATUSES.has(status)
}

export type StatusSchema = Static<typeof Status>

const HTTP_STATUSES: Readonly<Record<number, Status>> = {
  400: 'STATUS_INVALID_ARGUMENT',
  401: 'STATUS_UNAUTHENTICATED',
  403: 'STATUS_PERMISSION_DENIED',
  404: 'STATUS_NOT_FOUND',
  408: 'STATUS_TIMEOUT',
  429: 'STATUS_THROTTLED',
}

/**
 * The status an HTTP error code names on its own (docs/protocol.md §9): 400 → INVALID_ARGUMENT, 401 →
 * UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → NOT_FOUND, 408 → TIMEOUT, 429 → THROTTLED;
 * undefined for any other code, whose status depends on who answered (a function's HTTP call or the
 * endpoint itself).
 */
export function statusOfHttpCode(code: number): Status | undefined {
  return HTTP_STATUSES[code]
}
