/**
 * The graphile-worker baseline: N no-op jobs on PostgreSQL, the same count as our run, in its best
 * documented configuration for no-op jobs (jobs added in batches with `addJobs`, 24 concurrent jobs
 * with a local queue of 500, completions batched: `completeJobBatchDelay: 0`). With `latency`, then
 * jobs added at that rate carry their send time and the job records its dispatch-to-start delay.
 * graphile-worker is not a dependency: it is loaded from bench/.peers (`loadPeer`, Node 20 needs
 * 0.17). Connects to `connectionString` (default `BENCH_PG_URL`, else the local socket as the
 * current user). Skipped, with a message, when not installed or when PostgreSQL does not answer.
 */
import pg from 'pg'
import { now } from './benchArgs.js'
import { loadPeer } from './loadPeer.js'
import { defaultPgUrl, measurePeer, type PeerResult, type PeerRun } from './peerRun.js'

export async function runGraphileWorker(run: PeerRun): Promise<PeerResult | undefined> {
  const { log } = run
  const worker = loadPeer('graphile-worker', 'graphile-worker@0.17', log, run.install ?? false)
  if (worker === undefined) return undefined
  const connectionString = run.connectionString ?? defaultPgUrl()
  // A fixed schema, emptied before each run (not after: a stopping worker may still query it).
  const schema = 'bench_graphile_worker'
  let done = 0
  const latencies: number[] = []
  try {
    const pgClient = new pg.Client({ connectionString })
    await pgClient.connect()
    await pgClient.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await pgClient.end()
    const runner = await worker.run({
      connectionString,
      schema,
      concurrency: Number(process.env['BENCH_GW_CONCURRENCY'] ?? 24),
      noHandleSignals: true,
      pollInterval: 100,
      taskList: {
        noop: async (payload: { sentAt?: number }) => {
          if (payload.sentAt !== undefined) latencies.push(now() - payload.sentAt)
          done++
        },
      },
      logger: new worker.Logger(() => () => undefined),
      preset: {
        worker: {
          localQueue: { size: Number(process.env['BENCH_GW_QUEUE'] ?? 500) },
          completeJobBatchDelay: Number(process.env['BENCH_GW_COMPLETE_DELAY'] ?? 0),
        },
      },
    })
    const utils = await worker.makeWorkerUtils({ connectionString, schema })
    const add = (n: number, payload: () => object) =>
      utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: payload() })))
    const result = await measurePeer(run, 'graphile-worker', add, () => done, latencies)
    await utils.release()
    await runner.stop()
    await runner.promise
    return result
  } catch (error) {
    log(`graphile-worker: failed (${(error as Error).message}); skipped`)
    return undefined
  }
}
