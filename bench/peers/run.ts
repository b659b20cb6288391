/**
 * `npm run bench:peers`: our PostgreSQL-backed scheduler against the PostgreSQL job queues, on the
 * same local PostgreSQL in one run, each in a database created for the run and dropped after it.
 * 1. dispatch-functions with 1 node, then 2 nodes on one schema (bench/peers/ourNodes.ts): N no-op
 *    calls end to end over HTTP, every delivery signed and the endpoint verifying and validating it.
 * 2. graphile-worker 0.17 (bench/e2e/graphileWorker.ts) and pg-boss 10 (bench/peers/pgBoss.ts): N
 *    no-op jobs run in-process, each at its best documented configuration. Installed on demand into
 *    bench/.peers (`--no-install`: skip a peer that is missing instead).
 * 3. dispatch-functions in-process (bench/peers/inProcessNode.ts): one scheduler running the no-op
 *    function in its own process on PostgreSQL, N calls end to end (throughput only).
 * Then, for each, dispatch-to-start latency at one common rate (`--rate`, default half our one-node
 * throughput) for `--seconds` (default 5). The ratios are computed within the run.
 *
 * Flags: `--json` (one line), `--calls N` (default 50,000), `--concurrency N` (per node, default 200),
 * `--nodes-only` (skip the peers), `--peers-only` (skip ours, latency at `--rate`, default 1,000/s), `--cpu-prof` (profiles of the scheduler nodes in `--cpu-prof-dir`,
 * default ./bench-profiles; BENCH_NODE_OPTIONS adds node options to them). BENCH_PG_URL: the server (default postgres://postgres@127.0.0.1:5432/test).
 *
 * `--json` prints one line: `calls_per_s` (1 node), `calls_per_s_2_nodes`, `pgboss_per_s`,
 * `graphile_per_s`, `p50_ms` (1 node, dispatch to start), `inprocess_per_s` (in-process on
 * PostgreSQL), `inprocess_ratio_graphile`. A peer skipped (`--nodes-only`, or missing with
 * `--no-install`, or failing to install) gives null in its fields; ours are always there (but with
 * `--peers-only`: 0 and null).
 */
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import pg from 'pg'
import { flag, log, option, round, stringOption } from '../e2e/benchArgs.js'
import { runGraphileWorker } from '../e2e/graphileWorker.js'
import type { PeerResult } from '../e2e/peerRun.js'
import { runInProcessNode } from './inProcessNode.js'
import { runOurNodes } from './ourNodes.js'
import { runPgBoss } from './pgBoss.js'

const calls = option('--calls', 50_000)
const seconds = option('--seconds', 5)
const adminUrl = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test'
const database = `dispatch_bench_peers_${randomBytes(4).toString('hex')}`
const url = new URL(adminUrl)
url.pathname = `/${database}`
const connectionString = url.toString()
// Node options of the scheduler processes: profiles, and BENCH_NODE_OPTIONS (e.g. an `--import` that times store calls).
const execArgv = [
  ...(flag('--cpu-prof')
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(stringOption('--cpu-prof-dir') ?? 'bench-profiles')}`]
    : []),
  ...(process.env['BENCH_NODE_OPTIONS']?.split(' ').filter((s) => s !== '') ?? []),
]

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

await admin(`CREATE DATABASE ${database}`)
try {
  const ours = (nodes: number, rate: number | undefined) =>
    runOurNodes({
      nodes,
      calls,
      connectionString,
      schema: `dispatch_${nodes}_nodes`,
      concurrency: option('--concurrency', 200),
      execArgv,
      rate,
      seconds,
      log,
    })
  // `--peers-only` (for tuning the peers' settings): our runs are skipped, latency at `--rate`.
  const skipped: PeerResult & { rate: number } = { perS: 0, rate: option('--rate', 1000) }
  const one = flag('--peers-only') ? skipped : await ours(1, flag('--rate') ? option('--rate', 0) : undefined)
  const rate = one.rate
  const two = flag('--peers-only') ? skipped : await ours(2, rate)
  const inProcess = flag('--peers-only')
    ? undefined
    : await runInProcessNode({
        calls,
        connectionString,
        schema: 'dispatch_in_process',
        concurrency: option('--concurrency', 200),
        log,
      })
  const peer = { jobs: calls, log, install: !flag('--no-install'), connectionString, latency: { rate, seconds } }
  const graphile = flag('--nodes-only') ? undefined : await runGraphileWorker(peer)
  const pgboss = flag('--nodes-only') ? undefined : await runPgBoss(peer)

  const ratio = (peerResult: PeerResult | undefined) =>
    peerResult === undefined ? null : round(one.perS / peerResult.perS)
  const rows: [string, PeerResult | undefined][] = [
    ['dispatch-functions, 1 node (HTTP, signed, validated)', one],
    ['dispatch-functions, 2 nodes (HTTP, signed, validated)', two],
    ['graphile-worker 0.17 (in-process no-op jobs)', graphile],
    ['pg-boss 10 (in-process no-op jobs)', pgboss],
  ]
  log('')
  log(`| system | per s | 1 node / it | start p50 ms | start p99 ms |`)
  log(`| --- | --- | --- | --- | --- |`)
  for (const [name, r] of rows) {
    log(
      r === undefined
        ? `| ${name} | skipped | | | |`
        : `| ${name} | ${r.perS} | ${ratio(r)} | ${r.p50Ms} | ${r.p99Ms} |`,
    )
  }
  log(
    `| dispatch-functions, in-process on PostgreSQL (no HTTP, no signature) | ${inProcess?.perS ?? 'skipped'} | | | |`,
  )
  log(`(${calls} calls or jobs each; start latency at ${Math.round(rate)} per s for ${seconds} s)`)
  if (flag('--json')) {
    process.stdout.write(
      `${JSON.stringify({
        calls_per_s: one.perS,
        calls_per_s_2_nodes: two.perS,
        pgboss_per_s: pgboss?.perS ?? null,
        graphile_per_s: graphile?.perS ?? null,
        p50_ms: one.p50Ms,
        inprocess_per_s: inProcess?.perS ?? null,
        inprocess_ratio_graphile:
          inProcess === undefined || graphile === undefined ? null : round(inProcess.perS / graphile.perS),
      })}\n`,
    )
  }
} finally {
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
}
