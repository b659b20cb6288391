/**
 * `npm run bench:e2e`: the embedded scheduler end to end, through the real HTTP path.
 * 1. throughput: N no-op calls (default 50,000) dispatched by 4 concurrent clients in batches of
 *    1,000 to the scheduler's API; delivered as signed RunRequests to an endpoint process (dispatch
 *    plugin, signature check and validation on); calls per second from the first dispatch to the
 *    last recorded result.
 * 2. latency: calls dispatched at half that rate, in batches every 5 ms, for 5 s; dispatch-to-start
 *    (request sent to the function starting at the endpoint) p50 and p99.
 * 3. baselines, when installed into bench/.peers: graphile-worker on the local PostgreSQL, the same
 *    N no-op jobs (bench/e2e/graphileWorker.ts); Restate, `--restate-calls` one-step calls through its
 *    ingress (default 5,000: at under 1,000 calls/s, 50,000 would take minutes; bench/e2e/restate.ts).
 *
 * Flags: `--json` (one line), `--calls N`, `--concurrency N` (scheduler, default 200),
 * `--seconds S` (latency phase, default 5), `--rate R` (latency phase calls/s, default half the throughput), `--restate-calls N`, `--synchronous NORMAL`, `--off-thread` (endpoint
 * verifies signatures on the thread pool), `--no-baseline`. Run with `node --cpu-prof` (through
 * `--import tsx`) to profile the scheduler process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startScheduler } from '../../scheduler/index.js'
import { runGraphileWorker } from './graphileWorker.js'
import { runRestate } from './restate.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}
const json = args.includes('--json')
const calls = option('--calls', 50_000)
const concurrency = option('--concurrency', 200)
const seconds = option('--seconds', 5)
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}
const now = () => performance.timeOrigin + performance.now()
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits

function startEndpoint(verificationKey: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/e2e/endpoint.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      DISPATCH_VERIFICATION_KEY: verificationKey,
      BENCH_OFF_THREAD: args.includes('--off-thread') ? '1' : '',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) =>
      resolve({ child, url: `http://127.0.0.1:${Number(chunk.toString().trim())}` }),
    )
    child.once('exit', (code) => reject(new Error(`endpoint exited with ${code}`)))
  })
}

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-e2e-'))
let endpointProcess: ChildProcess | undefined
try {
  const synchronous = args.includes('--synchronous')
    ? (args[args.indexOf('--synchronous') + 1] as 'NORMAL' | 'FULL')
    : 'FULL'
  const scheduler = await startScheduler({ dbPath: join(folder, 'e2e.db'), concurrency, synchronous })
  const { child, url: endpoint } = await startEndpoint(scheduler.verificationKeyPem)
  endpointProcess = child
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` }
  const dispatch = async (inputs: unknown[][]): Promise<void> => {
    for (;;) {
      const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          calls: inputs.map((value) => ({
            endpoint,
            function: 'noop',
            input: { '@type': 'type.googleapis.com/google.protobuf.Value', value },
          })),
        }),
      })
      if (response.status === 200) {
        await response.arrayBuffer()
        return
      }
      // Back-pressure: wait as told, then send the same batch again.
      if (response.status === 429) {
        const wait = Number(response.headers.get('retry-after') ?? '1') * 1000
        await response.arrayBuffer()
        await new Promise((resolve) => setTimeout(resolve, wait))
        continue
      }
      throw new Error(`Dispatch answered ${response.status}: ${await response.text()}`)
    }
  }
  // Counting rows is a scan: wait for the endpoint to have run them all (a cheap question to the
  // other process), then poll the scheduler's counts until every result is recorded.
  const finished = async (total: number) => {
    for (;;) {
      const { ran } = (await fetch(`${endpoint}/ran`).then((r) => r.json())) as { ran: number }
      if (ran >= total) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    for (;;) {
      const stats = await scheduler.stats()
      const done = stats.filter((s) => s.state === 'succeeded').reduce((n, s) => n + s.count, 0)
      if (done >= total) return
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  // Warm-up: connections, JIT, the endpoint's limit.
  await dispatch(Array.from({ length: 1000 }, () => []))
  await finished(1000)

  // Memory of this process (the scheduler and the load generator): sampled through the run, so that
  // growth under load would show.
  const rssAfterWarmUp = process.memoryUsage().rss
  let rssPeak = rssAfterWarmUp
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
  }, 100)

  // 1. Throughput.
  const started = performance.now()
  let sent = 0
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent < calls) {
        const n = Math.min(1000, calls - sent)
        sent += n
        await dispatch(Array.from({ length: n }, () => []))
      }
    }),
  )
  const dispatchedMs = performance.now() - started
  await finished(1000 + calls)
  const callsPerS = Math.round(calls / ((performance.now() - started) / 1000))
  log(
    `throughput: ${calls} no-op calls, dispatch to recorded result, signed and validated: ${callsPerS} calls/s ` +
      `(dispatching took ${Math.round(dispatchedMs)} ms: ${Math.round(calls / (dispatchedMs / 1000))} calls/s accepted)`,
  )

  // 2. Latency at half that load.
  await fetch(`${endpoint}/latencies`).then((r) => r.arrayBuffer())
  const rate = option('--rate', callsPerS / 2)
  const tickMs = 5
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000))
  const ticks = Math.round((seconds * 1000) / tickMs)
  const latencyStart = performance.now()
  const inFlight: Promise<void>[] = []
  for (let tick = 0; tick < ticks; tick++) {
    const due = latencyStart + tick * tickMs
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(dispatch(Array.from({ length: perTick }, () => [now()])))
  }
  await Promise.all(inFlight)
  const probes = ticks * perTick
  await finished(1000 + calls + probes)
  const { latencies } = (await fetch(`${endpoint}/latencies`).then((r) => r.json())) as { latencies: number[] }
  latencies.sort((a, b) => a - b)
  const p50 = round(quantile(latencies, 0.5))
  const p99 = round(quantile(latencies, 0.99))
  log(
    `latency at ${Math.round(rate)} calls/s (${probes} calls in batches of ${perTick} every ${tickMs} ms): dispatch to start p50 ${p50} ms, p99 ${p99} ms`,
  )
  clearInterval(sampler)
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
  log(
    `memory (scheduler + load generator): RSS ${mb(rssAfterWarmUp)} MB after warm-up, peak ${mb(rssPeak)} MB, ${mb(process.memoryUsage().rss)} MB at the end`,
  )
  await scheduler.close()

  // 3. Baselines.
  let baseline: { perS: number } | undefined
  let restate: { perS: number; p50Ms: number } | undefined
  if (!args.includes('--no-baseline')) {
    baseline = await runGraphileWorker(calls, log)
    restate = await runRestate(option('--restate-calls', 5000), log)
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        calls_per_s: callsPerS,
        p50_ms: p50,
        p99_ms: p99,
        baseline: 'graphile-worker',
        baseline_per_s: baseline?.perS ?? null,
        ratio: baseline === undefined ? null : round(callsPerS / baseline.perS),
        restate_per_s: restate?.perS ?? null,
        restate_p50_ms: restate?.p50Ms ?? null,
      })}\n`,
    )
  }
} finally {
  endpointProcess?.kill('SIGTERM')
  await rm(folder, { recursive: true, force: true })
}
