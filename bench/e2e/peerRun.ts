/** What a peer baseline (graphile-worker, pg-boss) is asked to run, and what it answers. */
import { userInfo } from 'node:os'
import { now, quantile, round, sleep } from './benchArgs.js'
import { inBatches } from './inBatches.js'
import { paced } from './paced.js'

export interface PeerRun {
  readonly jobs: number
  readonly log: (line: string) => void
  /** Install the peer into bench/.peers when it is missing. */
  readonly install?: boolean
  readonly connectionString?: string
  /** After the throughput phase: jobs added at `rate` per second for `seconds`. */
  readonly latency?: { readonly rate: number; readonly seconds: number }
}

export interface PeerResult {
  readonly perS: number
  readonly p50Ms?: number
  readonly p99Ms?: number
}

/** Sorted delays (ms) to their p50 and p99. */
export function percentiles(sorted: readonly number[]): { p50Ms: number; p99Ms: number } {
  return { p50Ms: round(quantile(sorted, 0.5)), p99Ms: round(quantile(sorted, 0.99)) }
}

/** Resolves once `count()` reaches `target` (an in-process counter, checked every 2 ms). */
export async function reached(count: () => number, target: number): Promise<void> {
  while (count() < target) await sleep(2)
}

export const defaultPgUrl = (): string =>
  process.env['BENCH_PG_URL'] ?? `postgres://${userInfo().username}@/postgres?host=/var/run/postgresql`

/**
 * Times a peer whose workers already run: `run.jobs` jobs added in batches of 1,000 until `ran()`
 * counts them all, then, with `run.latency`, jobs carrying `{ sentAt }` added at that rate, whose
 * start delays the worker pushes to `latencies`. Logs one line headed `name`.
 */
export async function measurePeer(
  run: PeerRun,
  name: string,
  add: (count: number, payload: () => object) => Promise<unknown>,
  ran: () => number,
  latencies: number[],
): Promise<PeerResult> {
  const started = performance.now()
  await inBatches(run.jobs, (n) => add(n, () => ({})).then(() => undefined), 1)
  await reached(ran, run.jobs)
  const perS = Math.round(run.jobs / ((performance.now() - started) / 1000))
  let result: PeerResult = { perS }
  if (run.latency !== undefined) {
    const sent = await paced(run.latency.rate, run.latency.seconds, (n) =>
      add(n, () => ({ sentAt: now() })).then(() => undefined),
    )
    await reached(ran, run.jobs + sent)
    result = { perS, ...percentiles(latencies.sort((a, b) => a - b)) }
  }
  run.log(
    `${name}: ${run.jobs} no-op jobs: ${perS} jobs/s` +
      (result.p50Ms === undefined ? '' : `; start latency p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`),
  )
  return result
}
