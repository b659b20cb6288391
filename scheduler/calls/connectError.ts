import type { ConnectCode as CatalogConnectCode } from 'dispatch-functions/protocol'
import type { FastifyReply } from 'fastify'

/** Connect error codes this API answers with, and their HTTP statuses (Connect's mapping). */
const HTTP_STATUS = {
  invalid_argument: 400,
  failed_precondition: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<CatalogConnectCode, number>

export type ConnectCode = keyof typeof HTTP_STATUS

/**
 * Answers a Connect JSON error `{code, message}`, with Connect's HTTP status for the code unless
 * `httpStatus` says otherwise (413 for a body over the limit: a status clients do not retry).
 */
export function sendConnectError(
  reply: FastifyReply,
  code: ConnectCode,
  message: string,
  httpStatus: number = HTTP_STATUS[code],
): FastifyReply {
  return reply.code(httpStatus).header('content-type', 'application/json').send({ code, message })
}

/** A refusal a route throws; the API's error handler answers it as a Connect error. */
export class ConnectRefusal extends Error {
  constructor(
    readonly connectCode: ConnectCode,
    message: string,
  ) {
    super(message)
    this.name = 'ConnectRefusal'
  }
}
