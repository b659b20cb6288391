/**
 * Our side of the peer benchmark: `nodes` scheduler processes (bench/peers/node.ts) on one
 * PostgreSQL schema, delivering no-op calls to the benchmark endpoint (bench/e2e/endpoint.ts: the
 * real dispatch plugin, signature check and validation on). Throughput: N calls dispatched by 4
 * clients in batches of 1,000, spread over the nodes, from the first Dispatch request to the last
 * result recorded in PostgreSQL. Latency: calls dispatched at `rate`, dispatch-to-start.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { now, sleep } from '../e2e/benchArgs.js'
import { dispatchCalls } from '../e2e/dispatchCalls.js'
import { inBatches } from '../e2e/inBatches.js'
import { paced } from '../e2e/paced.js'
import { type PeerResult, percentiles } from '../e2e/peerRun.js'
import { endpointRan, startEndpoint, takeLatencies } from '../e2e/startEndpoint.js'

interface Node {
  readonly child: ChildProcess
  readonly url: string
  readonly apiKey: string
  readonly verificationKeyPem: string
}

export interface OurRun {
  readonly nodes: number
  readonly calls: number
  readonly connectionString: string
  readonly schema: string
  readonly concurrency: number
  /** Node options for the scheduler processes (`--cpu-prof`, `--cpu-prof-dir=...`). */
  readonly execArgv: readonly string[]
  /** The latency phase's rate; undefined: half the measured throughput. */
  readonly rate: number | undefined
  readonly seconds: number
  readonly log: (line: string) => void
}

function startNode(run: OurRun): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...run.execArgv, 'bench/peers/node.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      BENCH_NODE_URL: run.connectionString,
      BENCH_NODE_SCHEMA: run.schema,
      BENCH_NODE_CONCURRENCY: String(run.concurrency),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve({ child, ...JSON.parse(out.split('\n')[0]!) })
    })
    child.once('exit', (code) => reject(new Error(`scheduler node exited with ${code}`)))
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

export async function runOurNodes(run: OurRun): Promise<PeerResult & { rate: number }> {
  const { log } = run
  // The first node creates the schema and the keys; the others then start together and read them.
  const first = await startNode(run)
  const nodes = [first, ...(await Promise.all(Array.from({ length: run.nodes - 1 }, () => startNode(run))))]
  const { child: endpointProcess, url: endpoint } = await startEndpoint(first.verificationKeyPem)
  const db = new pg.Client({ connectionString: run.connectionString })
  await db.connect()
  try {
    const dispatch = (inputs: unknown[][], k: number) => dispatchCalls(nodes[k % nodes.length]!, endpoint, inputs)
    const finished = async (total: number) => {
      while ((await endpointRan(endpoint)) < total) await sleep(10)
      for (;;) {
        const { rows } = await db.query<{ n: string }>(
          `SELECT COUNT(*) AS n FROM "${run.schema}".calls WHERE state = 'succeeded'`,
        )
        if (Number(rows[0]!.n) >= total) return
        await sleep(5)
      }
    }
    // Warm-up: connections, JIT, the endpoint's adaptive limit, on every node.
    await inBatches(1000 * nodes.length, (n, k) =>
      dispatch(
        Array.from({ length: n }, () => []),
        k,
      ),
    )
    await finished(1000 * nodes.length)
    const warm = 1000 * nodes.length

    const started = performance.now()
    await inBatches(run.calls, (n, k) =>
      dispatch(
        Array.from({ length: n }, () => []),
        k,
      ),
    )
    await finished(warm + run.calls)
    const perS = Math.round(run.calls / ((performance.now() - started) / 1000))

    await takeLatencies(endpoint)
    const rate = run.rate ?? perS / 2
    let k = 0
    const probes = await paced(rate, run.seconds, (n) =>
      dispatch(
        Array.from({ length: n }, () => [now()]),
        k++,
      ),
    )
    await finished(warm + run.calls + probes)
    const result = { perS, rate, ...percentiles(await takeLatencies(endpoint)) }
    log(
      `dispatch-functions, ${run.nodes} node${run.nodes > 1 ? 's' : ''} on PostgreSQL: ${run.calls} no-op calls over HTTP, ` +
        `signed and validated: ${perS} calls/s; start latency at ${Math.round(rate)} calls/s p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
    )
    return result
  } finally {
    await db.end()
    await Promise.all(nodes.map((node) => stopChild(node.child)))
    endpointProcess.kill('SIGTERM')
  }
}
