/**
 * How the PostgreSQL store tells errors apart: a value of the batch at fault (isolate it), a
 * connection lost or refused (wait it out), a deadlock (run the statement again).
 */

/**
 * Errors a value of the batch caused: SQLSTATE classes 22 (data exception: a NUL in text, a number out
 * of range), 23 (a constraint) and 54 (a limit: an index entry too large), or a value the driver could
 * not send. A lost connection or an overloaded server is not one: the batch is retried whole.
 */
export function postgresDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return /^(22|23|54)/.test(code)
  return error instanceof TypeError || error instanceof RangeError
}

/** Connection failures worth waiting out (server starting, restarting, or briefly unreachable). */
export function transientConnectError(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE' ||
    code === '57P03' || // cannot_connect_now: starting up or shutting down
    code === '57P01' || // admin_shutdown (a restart, or pg_terminate_backend)
    code === '57P02' || // crash_shutdown
    code?.startsWith('08') === true || // connection_exception
    code === '53300' || // too_many_connections
    /Connection terminated|timeout exceeded when trying to connect/i.test((error as Error).message ?? '')
  )
}

/** A deadlock between a child reporting to its parent and a cascade over the same tree: PostgreSQL aborts one; run it again. */
export const deadlock = (error: unknown): boolean => (error as { code?: string }).code === '40P01'
