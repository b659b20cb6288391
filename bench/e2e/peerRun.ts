/** What a peer baseline (graphile-worker, pg-boss) is asked to run, and what it answers. */
import { userInfo } from 'node:os'
import { quantile, round, sleep } from './benchArgs.js'

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
