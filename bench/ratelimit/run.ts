/**
 * `npm run bench:ratelimit`: a rate-limited function held at its limit under 10x the allowed load.
 * An in-process scheduler (`startScheduler({ routes })`, SQLite, or the local PostgreSQL with
 * `--postgres`) runs `limited`, whose calls carry `rateLimit: {limit, periodMs: 1000}` as the
 * generated client of `@rateLimit N/1s` sends it; calls are dispatched at `--load` times the limit
 * for `--seconds`, then the function keeps running for as long again while the backlog drains.
 * Reported: the most starts seen in any sliding 1 s window (never above the limit), and the starts
 * over the measured span against the limit's allowance (within 1 % is the target).
 * Flags: `--limit N` (per second, default 20), `--load X` (default 10), `--seconds S` (default 60),
 * `--postgres`, `--json`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { flag, log, option, round, sleep } from '../e2e/benchArgs.js'

const limit = option('--limit', 20)
const load = option('--load', 10)
const seconds = option('--seconds', 60)
const postgres = flag('--postgres')
const PERIOD = 1000
const URL_PG = 'postgres://postgres@127.0.0.1:5432/test'
const schema = `dispatch_bench_rate_${randomBytes(4).toString('hex')}`

const starts: number[] = []
const routes = defineRoutes({
  limited: {
    input: tupleSchema([{ type: 'integer' }], 1),
    output: {},
    source: 'bench/ratelimit/run.ts:1',
    handler: async (_n: number) => {
      starts.push(Date.now())
    },
  },
})

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-rate-'))
const scheduler = await startScheduler({
  dbPath: join(folder, 'rate.db'),
  routes,
  ...(postgres ? { postgres: { url: URL_PG, schema } } : {}),
})
try {
  const endpoint = scheduler.inProcessEndpoint!
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` }
  const perTick = Math.max(1, Math.round((limit * load) / 10)) // every 100 ms
  const began = Date.now()
  let sent = 0
  while (Date.now() - began < seconds * 1000) {
    const tick = Date.now()
    const body = JSON.stringify({
      calls: Array.from({ length: perTick }, () => ({
        endpoint,
        function: 'limited',
        input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [sent++] },
        flow: { rateLimit: { limit, periodMs: PERIOD } },
      })),
    })
    const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
      method: 'POST',
      headers,
      body,
    })
    if (response.status !== 200) throw new Error(`Dispatch answered ${response.status}: ${await response.text()}`)
    await response.arrayBuffer()
    await sleep(Math.max(0, 100 - (Date.now() - tick)))
  }
  const measuredEnd = Date.now()
  // The starts of the measured span: from the first start, `seconds` long.
  const first = starts[0] ?? began
  const span = starts.filter((t) => t < first + seconds * 1000)
  let maxWindow = 0
  let lo = 0
  for (let hi = 0; hi < starts.length; hi++) {
    while (starts[lo]! <= starts[hi]! - PERIOD) lo++
    maxWindow = Math.max(maxWindow, hi - lo + 1)
  }
  const allowed = (limit * seconds * 1000) / PERIOD
  const result = {
    limit_per_s: limit,
    load,
    seconds,
    store: postgres ? 'postgresql' : 'sqlite',
    dispatched: sent,
    started_in_span: span.length,
    allowed_in_span: allowed,
    shortfall_pct: round((100 * (allowed - span.length)) / allowed),
    max_starts_in_any_1s_window: maxWindow,
    dispatch_ms: measuredEnd - began,
  }
  if (flag('--json')) process.stdout.write(`${JSON.stringify(result)}\n`)
  else {
    log(`rate limit ${limit}/1s, load ${load}x for ${seconds}s (${result.store}): ${sent} calls dispatched`)
    log(
      `starts in the first ${seconds}s from the first start: ${span.length} of ${allowed} allowed (${result.shortfall_pct}% under)`,
    )
    log(`most starts in any sliding 1 s window: ${maxWindow} (limit ${limit})`)
  }
} finally {
  await scheduler.close()
  if (postgres) {
    const store = await openPostgresStore({ url: URL_PG, schema, poolSize: 1 })
    await store.dropSchema()
    await store.close()
  }
  await rm(folder, { recursive: true, force: true })
}
