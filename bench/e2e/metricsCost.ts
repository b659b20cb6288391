/**
 * `npx tsx bench/e2e/metricsCost.ts`: what the metrics add to each call on the scheduler's thread,
 * measured alone (the end-to-end runs are too noisy on a shared machine to see 1 %): the updates of
 * one call's life (accepted, first attempt started and ended, its share of the store transactions)
 * in µs, one scrape in ms (Node's process metrics as a scrape every second mostly finds them: their
 * text reused), the process metrics read afresh in ms (`SCRAPES=n` scrapes are timed, default 200),
 * and the endpoint's updates of one run in µs.
 */
import { Registry } from 'prom-client'
import { EndpointMetrics } from '../../runtime/metrics/endpointMetrics.js'
import { processRegistry } from '../../scheduler/metrics/processRegistry.js'
import { SchedulerMetrics } from '../../scheduler/metrics/schedulerMetrics.js'
import type { CallCounts } from '../../scheduler/store/store.js'

const functions = ['publish', 'resize', 'notify', 'charge']
const counts: CallCounts[] = functions.flatMap((fn) =>
  ['pending', 'running', 'succeeded', 'failed'].map((state) => ({ function: fn, state, count: 1000, retrying: 3 })),
) as CallCounts[]
const metrics = new SchedulerMetrics({
  countCalls: async () => counts,
  nextDueAt: async () => Date.now() - 10,
  queueBacklog: async () =>
    functions.map((fn) => ({
      endpoint: 'http://127.0.0.1:8000',
      function: fn,
      fairnessKey: undefined,
      due: 10,
      oldestDueAt: 0,
    })),
  now: Date.now,
  endpoints: () => [{ endpoint: 'http://127.0.0.1:8000', limit: 100, inFlight: 42 }],
  inFlight: () => 42,
  unfinishedCalls: () => 100,
  queuedCalls: () => 0,
})
const calls = [{ function: 'publish' }] as never[]
const n = 1_000_000
const lifeOfOneCall = (i: number) => {
  const fn = functions[i % functions.length]!
  metrics.accepted(i % 2 === 0 ? calls : [])
  metrics.attemptStarted(fn, true, 1000, 1003)
  metrics.attemptEnded(fn, 'STATUS_OK', 'succeeded', 0.002)
  // One transaction of each kind serves ~100 calls in the end-to-end bench.
  if (i % 100 === 0) {
    metrics.storeOperation('insertCalls', 0.002)
    metrics.storeOperation('claimQueues', 0.001)
    metrics.storeOperation('completeAttempts', 0.003)
  }
}
for (let i = 0; i < n / 10; i++) lifeOfOneCall(i) // warm-up
const started = performance.now()
for (let i = 0; i < n; i++) lifeOfOneCall(i)
const perCallUs = ((performance.now() - started) * 1000) / n
await metrics.scrape()
const scrapeStarted = performance.now()
const scrapes = Number(process.env.SCRAPES ?? 200)
let bytes = 0
for (let i = 0; i < scrapes; i++) bytes = (await metrics.scrape()).length
const scrapeMs = (performance.now() - scrapeStarted) / scrapes
process.stdout.write(
  `metrics updates per call: ${perCallUs.toFixed(2)} µs; one scrape (${bytes} bytes, process metrics included): ${scrapeMs.toFixed(2)} ms\n`,
)
// Node's process metrics read afresh (a scrape reuses their text for up to 5 s, so at one scrape
// per second it pays this one time in five).
await processRegistry().metrics()
const processStarted = performance.now()
for (let i = 0; i < scrapes; i++) await processRegistry().metrics()
const processMs = (performance.now() - processStarted) / scrapes
process.stdout.write(`process metrics read afresh: ${processMs.toFixed(2)} ms\n`)

// The endpoint's side (the `metrics` option): the updates of one run (started, ended with its
// status and duration, two clock reads as the run handler makes them).
const endpointMetrics = new EndpointMetrics(new Registry())
const oneRun = (i: number) => {
  const series = endpointMetrics.runStarted(functions[i % functions.length]!)
  const runStarted = performance.now()
  endpointMetrics.runEnded(series, 'STATUS_OK', (performance.now() - runStarted) / 1000)
}
for (let i = 0; i < n / 10; i++) oneRun(i) // warm-up
const runsStarted = performance.now()
for (let i = 0; i < n; i++) oneRun(i)
const perRunUs = ((performance.now() - runsStarted) * 1000) / n
process.stdout.write(`endpoint metrics updates per run: ${perRunUs.toFixed(2)} µs\n`)
