import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { type SchedulerChild, spawnScheduler } from '../faults/processes.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

export type StoreName = 'SQLite' | 'PostgreSQL'

/**
 * Scheduler processes on one store, for crash tests run on both: SQLite in a file of `folder`, or
 * a schema of its own on the test PostgreSQL (test/scheduler/multinodeNode.ts); `start` may be
 * called again after a kill and finds the same calls and keys; `drop` removes the schema.
 */
export function storeSchedulers(store: StoreName, folder: () => string) {
  const schema = `dispatch_test_crash_${randomBytes(4).toString('hex')}`
  return {
    start: (env: Record<string, string> = {}): Promise<SchedulerChild> =>
      store === 'SQLite'
        ? spawnScheduler(join(folder(), 'dispatch.db'), env)
        : spawnScheduler(
            '',
            { DISPATCH_TEST_DATABASE_URL: POSTGRES_TEST_URL, DISPATCH_TEST_SCHEMA: schema, ...env },
            'test/scheduler/multinodeNode.ts',
          ),
    drop: async (): Promise<void> => {
      if (store === 'SQLite') return
      const opened = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await opened.dropSchema()
      await opened.close()
    },
  }
}
