/**
 * The pg-boss baseline: N no-op jobs on PostgreSQL, in its best documented configuration for
 * throughput (jobs inserted in batches of 1,000 with `insert`, several workers on one queue each
 * fetching a batch of jobs and completing it with one statement; `BENCH_PGBOSS_WORKERS`, default 8,
 * `BENCH_PGBOSS_BATCH`, default 500). A worker that found jobs fetches again at once; an idle one polls
 * every 0.5 s (pg-boss's shortest interval), which is what its start latency shows. Loaded from
 * bench/.peers (`loadPeer`: `pg-boss@10`); skipped, with a message, when not installed or when
 * PostgreSQL does not answer. Its own schema in the given database.
 */
import { now } from '../e2e/benchArgs.js'
import { inBatches } from '../e2e/inBatches.js'
import { loadPeer } from '../e2e/loadPeer.js'
import { paced } from '../e2e/paced.js'
import { defaultPgUrl, type PeerResult, type PeerRun, percentiles, reached } from '../e2e/peerRun.js'

export async function runPgBoss(run: PeerRun): Promise<PeerResult | undefined> {
  const { jobs, log } = run
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
    const started = performance.now()
    await inBatches(jobs, (n) => add(n, () => ({})), 1)
    await reached(() => done, jobs)
    const perS = Math.round(jobs / ((performance.now() - started) / 1000))
    let result: PeerResult = { perS }
    if (run.latency !== undefined) {
      const sent = await paced(run.latency.rate, run.latency.seconds, (n) => add(n, () => ({ sentAt: now() })))
      await reached(() => done, jobs + sent)
      result = { perS, ...percentiles(latencies.sort((a, b) => a - b)) }
    }
    log(
      `pg-boss: ${jobs} no-op jobs (${workers} workers, batches of ${batchSize}): ${perS} jobs/s` +
        (result.p50Ms === undefined ? '' : `; start latency p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`),
    )
    return result
  } catch (error) {
    log(`pg-boss: failed (${(error as Error).message}); skipped`)
    return undefined
  } finally {
    stopping = true
    await boss.stop({ graceful: true, wait: true, timeout: 5000 }).catch(() => undefined)
  }
}
