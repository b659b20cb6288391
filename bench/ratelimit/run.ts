/**
 * `npm run bench:ratelimit`: a rate-limited function held at its limit under 10x the allowed load.
 * An in-process scheduler (`startScheduler({ routes })`, SQLite, or the local PostgreSQL with
 * `--postgres`) runs `limited`, whose calls carry `rateLimit: {limit, periodMs: 1000}` as the
 * generated client of `@rateLimit N/1s` sends it; calls are dispatched at `--load` times the limit
 * until `--seconds` have passed since the first start.
 *
 * What is measured is the limit itself: each start as the store grants it. The bench hands the
 * scheduler a store whose `claimCapped` it observes, and records, for every call a claim returns, the
 * claim's time — the time the store writes into `rate_starts` for that start and counts against the
 * period. Reported: the starts within `--seconds` from the first one against the limit's allowance
 * (within 1 % is the target), and the most starts in any sliding period (never above the limit).
 * The handlers' own start times are reported apart (how late after its claim a handler runs).
 * Flags: `--limit N` (per second, default 20), `--load X` (default 10), `--seconds S` (default 60),
 * `--postgres`, `--json`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { openSqliteStore } from '../../scheduler/store/sqliteStore.js'
import type { Store } from '../../scheduler/store/store.js'
import { flag, log, option, quantile, round, sleep } from '../e2e/benchArgs.js'

const limit = option('--limit', 20)
const load = option('--load', 10)
const seconds = option('--seconds', 60)
const postgres = flag('--postgres')
const PERIOD = 1000
const URL_PG = 'postgres://postgres@127.0.0.1:5432/test'
const schema = `dispatch_bench_rate_${randomBytes(4).toString('hex')}`

/** The most events of `times` (sorted) within any half-open span of `period` ms: the sliding window. */
function mostInAnyPeriod(times: readonly number[], period: number): number {
  let most = 0
  let lo = 0
  for (let hi = 0; hi < times.length; hi++) {
    while (times[lo]! <= times[hi]! - period) lo++
    most = Math.max(most, hi - lo + 1)
  }
  return most
}

/** Claim time of each start the store granted (by dispatch id too), and each handler's start by input. */
const granted: number[] = []
const grantedAt = new Map<string, number>()
const handlerStarted = new Map<number, number>()
const idOf: string[] = []

const routes = defineRoutes({
  limited: {
    input: tupleSchema([{ type: 'integer' }], 1),
    output: {},
    source: 'bench/ratelimit/run.ts:1',
    handler: async (n: number) => {
      handlerStarted.set(n, Date.now())
    },
  },
})

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-rate-'))
const store: Store = postgres
  ? await openPostgresStore({ url: URL_PG, schema })
  : openSqliteStore(join(folder, 'rate.db'))
const claimCapped = store.claimCapped!.bind(store)
store.claimCapped = async (request) => {
  const calls = await claimCapped(request)
  for (const call of calls) {
    // Every call here is rate limited and succeeds at its first attempt: each claim is one start.
    granted.push(request.now)
    grantedAt.set(call.dispatchId, request.now)
  }
  return calls
}
const scheduler = await startScheduler({ dbPath: join(folder, 'rate.db'), routes, store })
const loadBefore = loadavg()
try {
  const endpoint = scheduler.inProcessEndpoint!
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` }
  const perTick = Math.max(1, Math.round((limit * load) / 10)) // every 100 ms
  const began = Date.now()
  let sent = 0
  // The load lasts through the whole measured span: until `seconds` after the first start, and a tick more.
  while (granted.length === 0 || Date.now() < granted[0]! + seconds * 1000 + 100) {
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
    idOf.push(...((await response.json()) as { dispatchIds: string[] }).dispatchIds)
    await sleep(Math.max(0, 100 - (Date.now() - tick)))
  }
  const loadAfter = loadavg()
  const first = granted[0]!
  const inSpan = granted.filter((t) => t < first + seconds * 1000)
  const allowed = (limit * seconds * 1000) / PERIOD
  // The first period's burst: how many started at once when the load began.
  const firstPeriod = granted.filter((t) => t < first + PERIOD).length
  const lags = [...handlerStarted]
    .filter(([n]) => grantedAt.has(idOf[n]!))
    .map(([n, at]) => at - grantedAt.get(idOf[n]!)!)
    .sort((a, b) => a - b)
  const handlerTimes = [...handlerStarted.values()].sort((a, b) => a - b)
  // How long after the window let it through each start was granted: the i-th start may come once
  // the (i - limit)-th has left its period. Never negative (the limit held); small if starts follow
  // the window as it opens.
  const openingLags = granted
    .slice(limit)
    .map((t, i) => t - (granted[i]! + PERIOD))
    .filter((lag) => lag < PERIOD) // a start that waited for a call, not for the window
    .sort((a, b) => a - b)
  const result = {
    limit_per_s: limit,
    load,
    seconds,
    store: postgres ? 'postgresql' : 'sqlite',
    dispatched: sent,
    granted_in_span: inSpan.length,
    allowed_in_span: allowed,
    under_pct: round((100 * (allowed - inSpan.length)) / allowed),
    within_1pct: inSpan.length >= 0.99 * allowed && inSpan.length <= allowed,
    max_granted_in_any_period: mostInAnyPeriod(granted, PERIOD),
    first_period_granted: firstPeriod,
    opening_lag_ms_min: openingLags[0] ?? 0,
    opening_lag_ms_p50: quantile(openingLags, 0.5),
    opening_lag_ms_p99: quantile(openingLags, 0.99),
    max_handler_starts_in_any_period: mostInAnyPeriod(handlerTimes, PERIOD),
    handler_lag_ms_p50: quantile(lags, 0.5),
    handler_lag_ms_p99: quantile(lags, 0.99),
    load_avg_1m: [round(loadBefore[0]!), round(loadAfter[0]!)],
    run_ms: Date.now() - began,
  }
  if (flag('--json')) process.stdout.write(`${JSON.stringify(result)}\n`)
  else {
    log(`rate limit ${limit}/1s, load ${load}x for ${seconds}s (${result.store}): ${sent} calls dispatched`)
    log(
      `starts granted in the ${seconds}s from the first: ${inSpan.length} of ${allowed} allowed (${result.under_pct}% under)`,
    )
    log(`most starts granted in any sliding 1 s period: ${result.max_granted_in_any_period} (limit ${limit})`)
    log(`first period: ${firstPeriod} granted`)
    log(
      `granted after the window allowed: min ${result.opening_lag_ms_min} ms, p50 ${result.opening_lag_ms_p50} ms, p99 ${result.opening_lag_ms_p99} ms`,
    )
    log(
      `handlers: most starts in any 1 s ${result.max_handler_starts_in_any_period}; lag after the claim p50 ${result.handler_lag_ms_p50} ms, p99 ${result.handler_lag_ms_p99} ms`,
    )
    log(`load average (1 min) before/after: ${result.load_avg_1m.join(' / ')}`)
  }
} finally {
  await scheduler.close()
  if (postgres) {
    const pg = store as Awaited<ReturnType<typeof openPostgresStore>>
    await pg.dropSchema()
    await pg.close()
  } else await store.close()
  await rm(folder, { recursive: true, force: true })
}
