import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach } from 'vitest'
import type { Routes } from '../../runtime/index.js'
import type { SchedulerOptions } from '../../scheduler/index.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { removeFolder, startEndpoint, startTestScheduler, type TestScheduler, tempFolder } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

export type StoreKind = 'SQLite' | 'PostgreSQL'

/**
 * A scheduler on SQLite (a temporary folder) or on PostgreSQL (a schema of this run) with a signed
 * Fastify endpoint serving `routes`, one per test: `start` opens them, and they are closed after
 * each test; the run's schemas are dropped after the file. Registers its hooks when called, so call
 * it at the top of a test file.
 */
export function schedulerPerTest(
  name: string,
  routes: Routes,
): (
  kind: StoreKind,
  options?: { [K in keyof SchedulerOptions]?: SchedulerOptions[K] | undefined },
) => Promise<{ t: TestScheduler; endpointUrl: string }> {
  const run = `dispatch_test_${name}_${randomBytes(4).toString('hex')}`
  const schemas: string[] = []
  let open: { t: TestScheduler; app: FastifyInstance; folder: string } | undefined
  afterEach(async () => {
    const opened = open
    open = undefined
    if (opened === undefined) return
    await opened.t.scheduler.close()
    await opened.app.close()
    await removeFolder(opened.folder)
  })
  afterAll(async () => {
    for (const schema of schemas) {
      const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await store.dropSchema()
      await store.close()
    }
  })
  return async (kind, options = {}) => {
    const folder = await tempFolder()
    const postgres = kind === 'PostgreSQL' ? { url: POSTGRES_TEST_URL, schema: `${run}_${schemas.length}` } : undefined
    if (postgres) schemas.push(postgres.schema)
    const t = await startTestScheduler(join(folder, 'dispatch.db'), { ...options, ...(postgres ? { postgres } : {}) })
    const endpoint = await startEndpoint(routes, t.scheduler.verificationKeyPem)
    open = { t, app: endpoint.app, folder }
    return { t, endpointUrl: endpoint.url }
  }
}
