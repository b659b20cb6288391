import { type Command, InvalidArgumentError } from 'commander'
import { checkPostgresUrl, quoteSchemaName, redactPostgresUrl } from '../scheduler/store/postgresUrl.js'
import { UsageError } from './usageError.js'

export interface PostgresFlags {
  postgres?: string
  schema?: string
}

/** Issue 7: adds `--postgres <url>` and `--schema <name>` to a command that starts a scheduler. */
export function addPostgresFlags(command: Command): Command {
  return (
    command
      // Checked in postgresOption, not by commander: commander's message would repeat the password.
      .option(
        '--postgres <url>',
        'store calls in PostgreSQL, shared by every scheduler node on it (default: DISPATCH_DATABASE_URL); keys are kept in the database',
      )
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
  const url = flags.postgres ?? (fromEnv ? fromEnv : undefined)
  if (url === undefined) {
    if (flags.schema !== undefined)
      throw new UsageError('DSP3501', '--schema needs --postgres <url> (or DISPATCH_DATABASE_URL)')
    return undefined
  }
  try {
    checkPostgresUrl(url)
  } catch {
    throw new UsageError(
      'DSP3501',
      `${flags.postgres === undefined ? 'DISPATCH_DATABASE_URL' : '--postgres'} ${redactPostgresUrl(url)} is not a PostgreSQL URL`,
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
