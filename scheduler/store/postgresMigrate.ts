import { dspError } from 'dispatch-functions/protocol'
import type { PoolClient } from 'pg'
import { POSTGRES_MIGRATIONS } from './postgresSchema.js'

/** The tables this project's migrations create (found in their SQL), and the migrations' own table. */
const OUR_TABLES: ReadonlySet<string> = new Set([
  'schema_migrations',
  ...POSTGRES_MIGRATIONS.flatMap((migration) =>
    [...migration('"s"').matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"s"\.([a-z_0-9]+)/g)].map((m) => m[1]!),
  ),
])

/**
 * Throws DSP3504 for a schema that is not this installation's own: `public` (every user of the
 * database may use it by default), or one that holds tables this project did not create. The
 * `settings` table keeps the API key and the signing key, and the scheduler's tables must not mix
 * with an application's, whose users and grants are not the scheduler's.
 */
async function checkOwnSchema(client: PoolClient, schemaName: string): Promise<void> {
  const fix = 'give this installation a schema of its own: --schema dispatch (the default), or another new name'
  if (schemaName.toLowerCase() === 'public') {
    throw dspError(
      'DSP3504',
      'the PostgreSQL schema public cannot hold the scheduler: its settings table keeps the API and signing keys, and every user of the database may use public by default',
      { hint: fix },
    )
  }
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname`,
    [schemaName],
  )
  const unrelated = rows.map((r) => r.name).filter((name) => !OUR_TABLES.has(name))
  if (unrelated.length > 0) {
    const named = unrelated.slice(0, 5).join(', ') + (unrelated.length > 5 ? `, and ${unrelated.length - 5} more` : '')
    throw dspError(
      'DSP3504',
      `the PostgreSQL schema ${schemaName} holds tables that are not the scheduler's (${named}): its settings table would keep the API and signing keys beside them`,
      { hint: fix },
    )
  }
}

/**
 * Brings `schema` up to the latest migration in one transaction, under a transaction-scoped
 * advisory lock keyed by the schema name: nodes starting together queue on the lock, the first
 * migrates, the others then find nothing to do. A schema newer than this version fails (DSP3503)
 * rather than being used with the wrong shape, and a schema that is not the installation's own
 * (`public`, or one holding other tables) fails with DSP3504 before anything is created in it.
 */
export async function migratePostgres(client: PoolClient, schemaName: string, quoted: string): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`dispatch-functions:${schemaName}`])
    // A newer version's schema holds tables this version does not know: say "upgrade" (DSP3503)
    // before the ownership check would call them foreign (DSP3504).
    const version = await migratedVersion(client, quoted)
    if (version > POSTGRES_MIGRATIONS.length) {
      throw dspError(
        'DSP3503',
        `the PostgreSQL schema ${schemaName} has schema version ${version}, newer than this version knows (${POSTGRES_MIGRATIONS.length})`,
        { hint: 'upgrade dispatch-functions on every node, or use another schema (--schema)' },
      )
    }
    await checkOwnSchema(client, schemaName)
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    )
    for (let i = version; i < POSTGRES_MIGRATIONS.length; i++) {
      await client.query(POSTGRES_MIGRATIONS[i]!(quoted))
      await client.query(`INSERT INTO ${quoted}.schema_migrations (version) VALUES ($1)`, [i + 1])
    }
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/** The schema's migration version; 0 when it has no migration table yet. */
async function migratedVersion(client: PoolClient, quoted: string): Promise<number> {
  const table = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoted}.schema_migrations`])
  if (table.rows[0]?.t === null || table.rows[0] === undefined) return 0
  const { rows } = await client.query<{ version: number | null }>(
    `SELECT MAX(version) AS version FROM ${quoted}.schema_migrations`,
  )
  return rows[0]?.version ?? 0
}
