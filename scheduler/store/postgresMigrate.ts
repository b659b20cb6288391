import { DispatchError } from 'dispatch-functions/internal'
import type { PoolClient } from 'pg'
import { POSTGRES_MIGRATIONS } from './postgresSchema.js'

/**
 * Brings `schema` up to the latest migration in one transaction, under a transaction-scoped
 * advisory lock keyed by the schema name: nodes starting together queue on the lock, the first
 * migrates, the others then find nothing to do. A schema newer than this version fails (DSP3503)
 * rather than being used with the wrong shape.
 */
export async function migratePostgres(client: PoolClient, schemaName: string, quoted: string): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`dispatch-functions:${schemaName}`])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    )
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT MAX(version) AS version FROM ${quoted}.schema_migrations`,
    )
    const version = rows[0]?.version ?? 0
    if (version > POSTGRES_MIGRATIONS.length) {
      throw new DispatchError(
        'DSP3503',
        `the PostgreSQL schema ${schemaName} has schema version ${version}, newer than this version knows (${POSTGRES_MIGRATIONS.length})`,
        { hint: 'upgrade dispatch-functions on every node, or use another schema (--schema)' },
      )
    }
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
