import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { openPostgresStore, type PostgresStore } from '../../scheduler/store/postgresStore.js'
import { openSqliteStore } from '../../scheduler/store/sqliteStore.js'
import { tempFolder } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'
import { scheduleConformance } from './scheduleConformance.js'

// Schedules on both stores; on PostgreSQL a second node is another store (its own pool) on the same schema.
const run = `dispatch_test_sched_${randomBytes(4).toString('hex')}`
const schemas = new Set<string>()
let n = 0
function freshStore(schema = `${run}_${n++}`): Promise<PostgresStore> {
  schemas.add(schema)
  return openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 4 })
}
afterAll(async () => {
  for (const schema of schemas) {
    const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
    await store.dropSchema()
    await store.close()
  }
})

scheduleConformance('SQLite', async () => openSqliteStore(join(await tempFolder(), 'dispatch.db')))
scheduleConformance('SQLite in memory', () => openSqliteStore(':memory:'))
scheduleConformance('PostgreSQL', () => freshStore(), {
  secondNode: (store) => freshStore((store as PostgresStore).schema),
})
