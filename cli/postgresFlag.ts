import { type Command, InvalidArgumentError } from 'commander'
import { checkPostgresUrl, quoteSchemaName, redactPostgresUrl } from '../scheduler/internal.js'
import { type SecretSource, secretFromFlags } from './secretFlag.js'
import { UsageError } from './usageError.js'

export interface PostgresFlags {
  postgres?: string
  postgresFile?: string
  schema?: string
}

const POSTGRES_SECRET: SecretSource = {
  flag: '--postgres',
  fileFlag: '--postgres-file',
  envVar: 'DISPATCH_DATABASE_URL',
}

/** A URL that carries a password (in its user info or as a `password` parameter) is a secret. */
function hasPassword(url: string): boolean {
  try {
    const parsed = new URL(url)
    return parsed.password !== '' || parsed.searchParams.has('password')
  } catch {
    return true // not a URL: it may still be a secret, and is refused later anyway
  }
}

/**
 * Adds `--postgres <url>`, `--postgres-file <path>` and `--schema <name>` to a command that starts a
 * scheduler. The URL's usual home is DISPATCH_DATABASE_URL: on the command line its password shows in `ps`.
 */
export function addPostgresFlags(command: Command): Command {
  return (
    command
      // Checked in postgresOption, not by commander: commander's message would repeat the password.
      .option(
        '--postgres <url>',
        'store calls in PostgreSQL, shared by every scheduler node on it (default: DISPATCH_DATABASE_URL, which keeps a password out of ps); keys are kept in the database',
      )
      .option('--postgres-file <path>', 'read the PostgreSQL URL from this file (owner-only, e.g. chmod 600)')
      .option('--schema <name>', 'PostgreSQL schema of this installation (several can share a database)', (value) => {
        try {
          quoteSchemaName(value)
          return value
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message)
        }
      })
  )
}

/** The `postgres` scheduler option from the flags or DISPATCH_DATABASE_URL; undefined means SQLite. */
export function postgresOption(flags: PostgresFlags): { url: string; schema?: string } | undefined {
  const fromEnv = process.env['DISPATCH_DATABASE_URL']
  const fromFlags = secretFromFlags(POSTGRES_SECRET, flags.postgres, flags.postgresFile, hasPassword)
  const url = fromFlags ?? (fromEnv ? fromEnv : undefined)
  if (url === undefined) {
    if (flags.schema !== undefined)
      throw new UsageError('DSP3501', '--schema needs DISPATCH_DATABASE_URL (or --postgres-file, --postgres)')
    return undefined
  }
  try {
    checkPostgresUrl(url)
  } catch {
    throw new UsageError(
      'DSP3501',
      `${flags.postgres !== undefined ? '--postgres' : flags.postgresFile !== undefined ? `--postgres-file ${flags.postgresFile}` : 'DISPATCH_DATABASE_URL'} ${redactPostgresUrl(url)} is not a PostgreSQL URL`,
      'use postgres://user:password@host:5432/database',
    )
  }
  return flags.schema === undefined ? { url } : { url, schema: flags.schema }
}

/** Where the calls are kept, for the start-up line (the password redacted). */
export function describeStore(postgres: { url: string; schema?: string } | undefined, db: string): string {
  return postgres === undefined
    ? `database ${db}`
    : `PostgreSQL ${redactPostgresUrl(postgres.url)}, schema ${postgres.schema ?? 'dispatch'}`
}
