/**
 * The graphile-worker baseline: N no-op jobs on the local PostgreSQL, the same count as our run, in
 * its best configuration we know for no-op jobs (jobs added in one `add_jobs` batch, local queue).
 * graphile-worker is not a dependency: install it on demand with
 * `npm install --prefix bench/.peers graphile-worker@0.17` (Node 20 needs 0.17). Connects with the
 * `BENCH_PG_URL` (default: the local socket, as the current user). Skipped, with a message, when not
 * installed or when PostgreSQL does not answer.
 */
import { createRequire } from 'node:module'
import { userInfo } from 'node:os'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const { Client } = pg

export async function runGraphileWorker(
  jobs: number,
  log: (line: string) => void,
): Promise<{ perS: number } | undefined> {
  const require = createRequire(fileURLToPath(new URL('../.peers/package.json', import.meta.url)))
  let worker: any
  try {
    worker = require('graphile-worker')
  } catch {
    log('graphile-worker: not installed (npm install --prefix bench/.peers graphile-worker@0.17); skipped')
    return undefined
  }
  const connectionString =
    process.env['BENCH_PG_URL'] ?? `postgres://${userInfo().username}@/postgres?host=/var/run/postgresql`
  // A fixed schema, emptied before each run (not after: a stopping worker may still query it).
  const schema = 'bench_graphile_worker'
  let done = 0
  let resolveDone: () => void = () => undefined
  const allDone = new Promise<void>((resolve) => {
    resolveDone = resolve
  })
  try {
    const pg = new Client({ connectionString })
    await pg.connect()
    await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await pg.end()
    const runner = await worker.run({
      connectionString,
      schema,
      concurrency: Number(process.env['BENCH_GW_CONCURRENCY'] ?? 24),
      noHandleSignals: true,
      pollInterval: 100,
      taskList: {
        noop: async () => {
          if (++done === jobs) resolveDone()
        },
      },
      logger: new worker.Logger(() => () => undefined),
      preset: { worker: { localQueue: { size: Number(process.env['BENCH_GW_QUEUE'] ?? 500) } } },
    })
    const utils = await worker.makeWorkerUtils({ connectionString, schema })
    const started = performance.now()
    for (let sent = 0; sent < jobs; sent += 1000) {
      const n = Math.min(1000, jobs - sent)
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })))
    }
    await allDone
    const perS = Math.round(jobs / ((performance.now() - started) / 1000))
    log(`graphile-worker: ${jobs} no-op jobs: ${perS} jobs/s`)
    await utils.release()
    await runner.stop()
    await runner.promise
    return { perS }
  } catch (error) {
    log(`graphile-worker: failed (${(error as Error).message}); skipped`)
    return undefined
  }
}
