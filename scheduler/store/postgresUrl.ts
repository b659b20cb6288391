import { dspError } from 'dispatch-functions/protocol'

/**
 * A PostgreSQL URL with its password (and any `password` query parameter) replaced by `***`, for
 * messages and logs: secrets never leave the process through an error.
 */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***')
    return parsed.toString()
  } catch {
    // Not a URL at all: say nothing of what it contained.
    return '<not a URL>'
  }
}

/** Checks that `url` is a `postgres://` or `postgresql://` URL; throws DSP3501 (naming it redacted) otherwise. */
export function checkPostgresUrl(url: string): string {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed === undefined || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    throw dspError('DSP3501', `${redactPostgresUrl(url)} is not a PostgreSQL URL`, {
      hint: 'use postgres://user:password@host:5432/database (--postgres or DISPATCH_DATABASE_URL)',
    })
  }
  return url
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** Checks a schema name (letters, digits, `_`, at most 63) and returns it double-quoted for SQL. */
export function quoteSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw dspError('DSP3501', `${JSON.stringify(schema)} is not a usable PostgreSQL schema name`, {
      hint: 'use letters, digits and _ (at most 63, not starting with a digit), e.g. dispatch or dispatch_staging',
    })
  }
  return `"${schema}"`
}
