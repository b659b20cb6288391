/** SQLite result codes (better-sqlite3's `code`) that say the file cannot be written now. */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM)(_|$)/
/** System errors of the file system or of the way to the database server. */
const SYSTEM_UNAVAILABLE = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EIO',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
/**
 * PostgreSQL SQLSTATEs: connection exceptions (08), insufficient resources (53: disk full, out of
 * memory, too many connections), the server shutting down or starting (57P01-03), an I/O error
 * (58030), a read-only standby after a failover (25006), and conflicts that succeed when retried.
 */
const POSTGRES_UNAVAILABLE = /^(08...|53...|57P0[123]|58030|25006|40001|40P01)$/
/** What node-postgres says, without a code, when the server went away under a query. */
const POSTGRES_LOST = /Connection terminated|timeout exceeded when trying to connect|connection error/i

/**
 * Why the store cannot write right now — a full disk, a read-only or failing file system, a lost or
 * overloaded database — or undefined when the error is something else (a bug: answered 500). Such a
 * request is answered `503 unavailable` with `Retry-After`: the transaction did not commit, and the
 * same request sent later (with its idempotency keys) succeeds once the store recovers.
 */
export function storeUnavailable(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') {
      if (SQLITE_UNAVAILABLE.test(code) || SYSTEM_UNAVAILABLE.has(code) || POSTGRES_UNAVAILABLE.test(code)) {
        return `${code}: ${e.message.slice(0, 200)}`
      }
    } else if (POSTGRES_LOST.test(e.message)) {
      return e.message.slice(0, 200)
    }
  }
  return undefined
}
