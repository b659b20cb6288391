/**
 * The pg-boss baseline: N no-op jobs on PostgreSQL, in its best documented configuration for
 * throughput: jobs inserted 1,000 per `insert`, workers on one queue each fetching a batch
 * (`batchSize`) and completing it with one statement. A worker fetches again after its polling
 * interval less the time the batch took (0.5 s at the shortest), so throughput is about workers ×
 * batch per 0.5 s until PostgreSQL limits it. 2 workers × 10,000 was the fastest here
 * (`BENCH_PGBOSS_WORKERS`, `BENCH_PGBOSS_BATCH`; see bench/RESULTS.md). Loaded from bench/.peers
 * (`loadPeer`: `pg-boss@10`); skipped, with a message, when not installed or when PostgreSQL does not
 * answer. Its own schema in the given database.
 */
import { now } from '../e2e/benchArgs.js'
import { loadPeer } from '../e2e/loadPeer.js'
import { defaultPgUrl, measurePeer, type PeerResult, type PeerRun } from '../e2e/peerRun.js'

export async function runPgBoss(run: PeerRun): Promise<PeerResult | undefined> {
  const { log } = run
  const PgBoss = loadPeer('pg-boss', 'pg-boss@10', log, run.install ?? false)
  if (PgBoss === undefined) return undefined
  const workers = Number(process.env['BENCH_PGBOSS_WORKERS'] ?? 2)
  const batchSize = Number(process.env['BENCH_PGBOSS_BATCH'] ?? 10000)
  const boss = new PgBoss({
    connectionString: run.connectionString ?? defaultPgUrl(),
    schema: 'bench_pgboss',
    max: workers + 4,
    schedule: false,
  })
  let stopping = false
  boss.on('error', (error: Error) => {
    if (!stopping) log(`pg-boss: ${error.message}`)
  })
  let done = 0
  const latencies: number[] = []
  try {
    await boss.start()
    const queue = 'noop'
    await boss.createQueue(queue)
    for (let i = 0; i < workers; i++) {
      await boss.work(
        queue,
        { batchSize, pollingIntervalSeconds: 0.5 },
        async (batch: { data: { sentAt?: number } }[]) => {
          for (const job of batch) {
            if (job.data.sentAt !== undefined) latencies.push(now() - job.data.sentAt)
            done++
          }
        },
      )
    }
    const add = (n: number, data: () => object) =>
      boss.insert(Array.from({ length: n }, () => ({ name: queue, data: data() })))
    return await measurePeer(run, `pg-boss (${workers} workers, batches of ${batchSize})`, add, () => done, latencies)
  } catch (error) {
    log(`pg-boss: failed (${(error as Error).message}); skipped`)
    return undefined
  } finally {
    stopping = true
    await boss.stop({ graceful: true, wait: true, timeout: 5000 }).catch(() => undefined)
  }
}
