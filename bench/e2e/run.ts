/**
 * `npm run bench:e2e`: the embedded scheduler end to end, through the real HTTP path.
 * 1. throughput: N no-op calls (default 50,000) dispatched by 4 concurrent clients in batches of
 *    1,000 to the scheduler's API; delivered as signed RunRequests to an endpoint process (dispatch
 *    plugin, signature check and validation on); calls per second from the first dispatch to the
 *    last recorded result; and the CPU time this process (the scheduler and the load generator, not
 *    the endpoint) spent per call meanwhile.
 * 2. latency: calls dispatched at half that rate, in batches every 5 ms, for 5 s; dispatch-to-start
 *    (request sent to the function starting at the endpoint) p50 and p99.
 * 3. in-process: the same N no-op calls to a scheduler that runs the function in its own process
 *    (`startScheduler({ routes })`: no HTTP to the endpoint, no signature), SQLite FULL; calls per
 *    second from the first dispatch to the last recorded result, and the CPU time this process spent
 *    per call meanwhile (user + system, all threads: steadier than the rate on a busy machine).
 *    `--no-inprocess` skips it.
 * 4. baselines, when installed into bench/.peers: graphile-worker on the local PostgreSQL, the same
 *    N no-op jobs (bench/e2e/graphileWorker.ts); Restate, `--restate-calls` one-step calls through its
 *    ingress (default 5,000: at under 1,000 calls/s, 50,000 would take minutes; bench/e2e/restate.ts).
 *
 * Flags: `--json` (one line), `--calls N`, `--concurrency N` (scheduler, default 200),
 * `--seconds S` (latency phase, default 5), `--rate R` (latency phase calls/s, default half the throughput), `--restate-calls N`, `--synchronous NORMAL`, `--off-thread` (endpoint
 * verifies signatures on the thread pool), `--no-baseline`, `--profile DIR` (the endpoint process writes
 * a `--cpu-prof` profile into DIR). Run with `node --cpu-prof --import tsx bench/e2e/run.ts` to
 * profile the scheduler process (with the load generator, which shares it).
 * `--batch N` sets batched delivery's `batchDelivery: { maxCalls: N }` (docs/protocol.md §16); `--batch 1`
 * turns it off (one request per attempt); without the flag, the scheduler's default (on, 32).
 * `--only-inprocess` skips phases 1 and 2 (quick iterations on the in-process path).
 * `--metrics off` starts the scheduler with `metrics: false`; otherwise (the default, as in the
 * scheduler) `/metrics` is scraped every `--scrape-ms` (default 1000, far more often than Prometheus'
 * usual 15 s) through both phases, and the scrapes' count and mean time are printed.
 *
 * `--json` prints one line: `calls_per_s`, `batch_max_calls`, `metrics`, `scrapes`, `scrape_failures`,
 * `scrape_ms`, `p50_ms`, `p99_ms`, `baseline` ("graphile-worker"), `baseline_per_s`, `ratio`,
 * `restate_per_s`, `restate_p50_ms`, `inprocess_per_s`, `inprocess_ratio` (in-process / graphile-worker).
 * A peer that is not installed in bench/.peers (or `--no-baseline`, `--no-inprocess`) leaves its
 * fields and the ratios that need it null; our own figures are always there.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { DEFAULT_BATCH_CALLS } from '../../scheduler/internal.js'
import { flag, log, now, option, quantile, round, sleep, stringOption } from './benchArgs.js'
import { dispatchCalls } from './dispatchCalls.js'
import { runGraphileWorker } from './graphileWorker.js'
import { inBatches } from './inBatches.js'
import { paced } from './paced.js'
import { runRestate } from './restate.js'
import { endpointRan, startEndpoint, takeLatencies } from './startEndpoint.js'

const json = flag('--json')
const calls = option('--calls', 50_000)
const concurrency = option('--concurrency', 200)
const seconds = option('--seconds', 5)
const batchCalls = option('--batch', 0)

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-e2e-'))
let endpointProcess: ChildProcess | undefined
try {
  const synchronous = (stringOption('--synchronous') ?? 'FULL') as 'NORMAL' | 'FULL'
  const metricsOn = stringOption('--metrics') !== 'off'
  const onlyInProcess = flag('--only-inprocess')
  let callsPerS: number | undefined
  let callsCpuUs: number | undefined
  let p50: number | undefined
  let p99: number | undefined
  let scrapeMs: number | null = null
  const scrapes: number[] = []
  let scrapeFailures = 0
  if (!onlyInProcess) {
    const scheduler = await startScheduler({
      dbPath: join(folder, 'e2e.db'),
      concurrency,
      synchronous,
      ...(metricsOn ? {} : { metrics: false as const }),
      ...(batchCalls > 0 ? { batchDelivery: { maxCalls: batchCalls } } : {}),
    })
    let scraper: NodeJS.Timeout | undefined
    // A scrape that fails (its kept-alive connection closed under it) is counted, not fatal: the run's
    // figures stand, and the count says how many scrapes the cost figure lacks.
    const scrape = async () => {
      const t0 = performance.now()
      try {
        const response = await fetch(scheduler.metricsUrl!, {
          headers: { authorization: `Bearer ${scheduler.apiKey}` },
        })
        await response.text()
        scrapes.push(performance.now() - t0)
      } catch {
        scrapeFailures++
      }
    }
    const { child, url: endpoint } = await startEndpoint(
      scheduler.verificationKeyPem,
      flag('--off-thread'),
      stringOption('--profile'),
    )
    endpointProcess = child
    const dispatch = (inputs: unknown[][]) => dispatchCalls(scheduler, endpoint, inputs)
    // Counting rows is a scan: wait for the endpoint to have run them all (a cheap question to the
    // other process), then poll the scheduler's counts until every result is recorded.
    const finished = async (total: number) => {
      while ((await endpointRan(endpoint)) < total) await sleep(10)
      for (;;) {
        const stats = await scheduler.stats()
        const done = stats.filter((s) => s.state === 'succeeded').reduce((n, s) => n + s.count, 0)
        if (done >= total) return
        await sleep(5)
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
    if (metricsOn) scraper = setInterval(() => void scrape(), option('--scrape-ms', 1000))
    const started = performance.now()
    const cpuStarted = process.cpuUsage()
    await inBatches(calls, (n) => dispatch(Array.from({ length: n }, () => [])))
    const dispatchedMs = performance.now() - started
    await finished(1000 + calls)
    callsPerS = Math.round(calls / ((performance.now() - started) / 1000))
    const cpu = process.cpuUsage(cpuStarted)
    callsCpuUs = round((cpu.user + cpu.system) / calls)
    log(
      `throughput: ${calls} no-op calls, dispatch to recorded result, signed and validated: ${callsPerS} calls/s ` +
        `(dispatching took ${Math.round(dispatchedMs)} ms: ${Math.round(calls / (dispatchedMs / 1000))} calls/s accepted)`,
    )

    // 2. Latency at half that load.
    await takeLatencies(endpoint)
    const rate = option('--rate', callsPerS / 2)
    const probes = await paced(rate, seconds, (n) => dispatch(Array.from({ length: n }, () => [now()])))
    await finished(1000 + calls + probes)
    const latencies = await takeLatencies(endpoint)
    p50 = round(quantile(latencies, 0.5))
    p99 = round(quantile(latencies, 0.99))
    log(
      `latency at ${Math.round(rate)} calls/s (${probes} calls in batches every 5 ms): dispatch to start p50 ${p50} ms, p99 ${p99} ms`,
    )
    clearInterval(sampler)
    clearInterval(scraper)
    scrapeMs = scrapes.length === 0 ? null : round(scrapes.reduce((a, b) => a + b, 0) / scrapes.length)
    log(
      metricsOn
        ? `metrics: ${scrapes.length} scrapes of /metrics, ${scrapeMs} ms each on average${scrapeFailures > 0 ? `, ${scrapeFailures} failed` : ''}`
        : 'metrics: off',
    )
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
    log(
      `memory (scheduler + load generator): RSS ${mb(rssAfterWarmUp)} MB after warm-up, peak ${mb(rssPeak)} MB, ${mb(process.memoryUsage().rss)} MB at the end`,
    )
    await scheduler.close()
  }

  // 3. In-process: the function runs in the scheduler's process.
  let inProcessPerS: number | undefined
  let inProcessCpuUs: number | undefined
  if (!flag('--no-inprocess')) {
    // As in the separate-process phase, counting rows is a scan (~20 ms at 50,000 rows, on the same
    // loop as the scheduler here): wait for the function to have run them all (a counter, as
    // graphile-worker's job counts), then poll the counts until every result is recorded.
    let ran = 0
    const routes = defineRoutes({
      noop: {
        source: 'bench/e2e/run.ts',
        input: tupleSchema([], 0),
        output: undefined,
        handler: () => {
          ran++
          return undefined
        },
      },
    })
    const local = await startScheduler({ dbPath: join(folder, 'inprocess.db'), concurrency, synchronous, routes })
    const inProcessEndpoint = local.inProcessEndpoint!
    const succeeded = async () =>
      (await local.stats()).filter((s) => s.state === 'succeeded').reduce((n, s) => n + s.count, 0)
    const until = async (total: number) => {
      while (ran < total) await sleep(5)
      while ((await succeeded()) < total) await sleep(5)
    }
    await dispatchCalls(
      local,
      inProcessEndpoint,
      Array.from({ length: 1000 }, () => []),
    )
    await until(1000)
    const localStarted = performance.now()
    const cpuStarted = process.cpuUsage()
    await inBatches(calls, (n) =>
      dispatchCalls(
        local,
        inProcessEndpoint,
        Array.from({ length: n }, () => []),
      ),
    )
    await until(1000 + calls)
    inProcessPerS = Math.round(calls / ((performance.now() - localStarted) / 1000))
    const cpu = process.cpuUsage(cpuStarted)
    inProcessCpuUs = round((cpu.user + cpu.system) / calls)
    log(
      `in-process: ${calls} no-op calls run in the scheduler's process, dispatch to recorded result: ${inProcessPerS} calls/s`,
    )
    await local.close()
  }

  // 4. Baselines.
  let baseline: { perS: number } | undefined
  let restate: { perS: number; p50Ms: number } | undefined
  if (!flag('--no-baseline')) {
    baseline = await runGraphileWorker({ jobs: calls, log })
    restate = await runRestate(option('--restate-calls', 5000), log)
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        calls_per_s: callsPerS ?? null,
        calls_cpu_us: callsCpuUs ?? null,
        // The most attempts per request: 1 is one request per attempt; without --batch, the default.
        batch_max_calls: batchCalls > 0 ? batchCalls : DEFAULT_BATCH_CALLS,
        metrics: metricsOn,
        scrapes: scrapes.length,
        scrape_failures: scrapeFailures,
        scrape_ms: scrapeMs,
        p50_ms: p50 ?? null,
        p99_ms: p99 ?? null,
        baseline: 'graphile-worker',
        baseline_per_s: baseline?.perS ?? null,
        ratio: baseline === undefined || callsPerS === undefined ? null : round(callsPerS / baseline.perS),
        restate_per_s: restate?.perS ?? null,
        restate_p50_ms: restate?.p50Ms ?? null,
        inprocess_per_s: inProcessPerS ?? null,
        inprocess_cpu_us: inProcessCpuUs ?? null,
        inprocess_ratio:
          baseline === undefined || inProcessPerS === undefined ? null : round(inProcessPerS / baseline.perS),
      })}\n`,
    )
  }
} finally {
  endpointProcess?.kill('SIGTERM')
  await rm(folder, { recursive: true, force: true })
}
