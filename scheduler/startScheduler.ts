import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Routes } from 'dispatch-functions'
import { dspError } from 'dispatch-functions/protocol'
import type { FastifyServerOptions } from 'fastify'
import { buildApiServer } from './api/apiServer.js'
import { BackPressure } from './api/backPressure.js'
import { GroupCommitter } from './api/groupCommitter.js'
import { CallEvents } from './calls/callEvents.js'
import type { FaultHooks } from './calls/faultHooks.js'
import { AdaptiveConcurrency, type EndpointConcurrency } from './delivery/adaptiveConcurrency.js'
import { BatchingTransport } from './delivery/batchingTransport.js'
import { CappedClaims } from './delivery/cappedClaims.js'
import { DeficitRoundRobin } from './delivery/deficitRoundRobin.js'
import { DeliveryLoop } from './delivery/deliveryLoop.js'
import { type DeliveryTransport, EndpointClient } from './delivery/endpointClient.js'
import { endpointKey, inProcessEndpoint } from './delivery/inProcessEndpoint.js'
import { InProcessTransport } from './delivery/inProcessTransport.js'
import { LeaseRenewal } from './delivery/leaseRenewal.js'
import { loadSchedulerKeys, type SchedulerKeys } from './keys/loadSchedulerKeys.js'
import { loadSharedKeys } from './keys/sharedKeys.js'
import { listenForScrapes, type MetricsListener } from './metrics/metricsListener.js'
import { SchedulerMetrics } from './metrics/schedulerMetrics.js'
import { timedStore } from './metrics/timedStore.js'
import { resolveSchedulerOptions, type SchedulerOptions } from './schedulerOptions.js'
import { resolveSchedules } from './schedules/scheduleOptions.js'
import { registerScheduleRoutes } from './schedules/scheduleRoutes.js'
import { type ScheduleStore, ScheduleTicker } from './schedules/scheduleTicker.js'
import { openPostgresStore } from './store/postgresStore.js'
import { Retention } from './store/retention.js'
import { openSqliteStore } from './store/sqliteStore.js'
import type { CallCounts, Store } from './store/store.js'

/**
 * `Scheduler.stats()`: the counts per function and state (an array, as before), plus how the
 * scheduler copes with the load: per-endpoint adaptive concurrency and the unfinished calls.
 */
export type SchedulerStats = CallCounts[] & {
  /** Per endpoint origin: the adaptive limit now and the attempts in flight (empty when turned off). */
  readonly endpoints: readonly EndpointConcurrency[]
  /** Pending and running calls, as back-pressure estimates them (undefined when turned off). */
  readonly unfinished: number | undefined
}

/** A running scheduler. */
export interface Scheduler {
  /** The API base URL: `http://127.0.0.1:PORT` (`DISPATCH_API_URL`). */
  readonly url: string
  /** The bearer key of the API (`DISPATCH_API_KEY`). */
  readonly apiKey: string
  /** PEM SPKI of the key deliveries are signed with: what endpoints verify with (`DISPATCH_VERIFICATION_KEY`). */
  readonly verificationKeyPem: string
  /**
   * Counts per function and state (with the pending calls that are retrying), for summaries; the
   * array also carries `endpoints` (adaptive concurrency per endpoint) and `unfinished`.
   */
  stats(): Promise<SchedulerStats>
  /** The endpoint URL of the in-process functions (`routes`); undefined without them. */
  readonly inProcessEndpoint: string | undefined
  /**
   * Where Prometheus scrapes this scheduler: the `metrics.port` listener's `/metrics` (no key), else
   * `url + '/metrics'` (send the API key as a bearer token); undefined with `metrics: false`.
   */
  readonly metricsUrl: string | undefined
  /** The web dashboard, `url + '/ui/'`; undefined without the `dashboard` option. */
  readonly dashboardUrl: string | undefined
  /** Attempts in flight right now. */
  readonly inFlight: number
  /**
   * Stops accepting requests, lets in-flight attempts finish for `shutdownGraceMs` and abandons the
   * rest (delivered again on the next start), then closes the store. Safe to call twice.
   */
  close(): Promise<void>
}

/** What {@link SchedulerHarness.control} hands out. */
export interface SchedulerControl {
  /** Relists the due queues and wakes delivery (after the clock moved). */
  wake(): void
}

const IDEMPOTENCY_PURGE_MS = 10 * 60_000
/** A lease outlives the longest attempt timeout by this margin, so a live attempt is never claimed twice. */
const LEASE_MARGIN_MS = 60_000

/**
 * What a test harness adds to a scheduler it starts — the fault suite, the test environment
 * (`dispatch-functions-tools/testing`); nothing an application sets.
 */
export interface SchedulerHarness {
  /** Fault injection: told at each fault point the scheduler reaches (the fault suite kills the process at one). */
  readonly faults?: FaultHooks
  /** The clock every due time, lease, backoff and expiration follows (default `Date.now`). */
  readonly now?: () => number
  /** Delivers attempts instead of signed HTTP POSTs to the endpoints (default: the HTTP client). */
  readonly transport?: DeliveryTransport
  /** Given, once the scheduler runs, a way to make delivery look for due calls now. */
  readonly control?: (control: SchedulerControl) => void
  /** Routes served by `transport` at `endpoint`, whose `@schedule` the scheduler runs (the test environment's). */
  readonly scheduledRoutes?: { readonly routes: Routes; readonly endpoint: string }
}

type LoggerOptions = Pick<FastifyServerOptions, 'logger' | 'loggerInstance'>

function loggerOptions(option: SchedulerOptions['logger']): LoggerOptions {
  // Logs go to stderr: under `dispatch run`, stdout belongs to the application.
  if (option === undefined || option === false) return { logger: { level: 'warn', stream: process.stderr } }
  if (option === true) return { logger: { level: 'info', stream: process.stderr } }
  const candidate = option as { info?: unknown; child?: unknown }
  if (typeof candidate.info === 'function' && typeof candidate.child === 'function') {
    return { loggerInstance: option as NonNullable<FastifyServerOptions['loggerInstance']> }
  }
  return { logger: { level: 'warn', stream: process.stderr, ...(option as object) } }
}

/**
 * Starts the embedded scheduler: opens (or creates) the store, loads or creates the keys, serves the
 * API on `host:port`, and delivers due calls until {@link Scheduler.close}. Attempts a previous
 * process left in flight are delivered again (at least once).
 *
 * @example
 * ```ts
 * const scheduler = await startScheduler({ dbPath: '.dispatch/dispatch.db' })
 * process.env.DISPATCH_API_URL = scheduler.url
 * process.env.DISPATCH_API_KEY = scheduler.apiKey
 * ```
 */
export function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  return startSchedulerWith(options, {})
}

/** {@link startScheduler} with a test harness (fault points, a clock, a transport): not public. */
export async function startSchedulerWith(options: SchedulerOptions, harness: SchedulerHarness): Promise<Scheduler> {
  const resolved = { ...resolveSchedulerOptions(options), ...(harness.now === undefined ? {} : { now: harness.now }) }
  const margin = leaseMargin(options.leaseMarginMs)
  // In-process functions (`routes`) are served here, every other endpoint over HTTP; compiled before
  // the store opens, so bad route schemas fail first.
  const local = options.routes === undefined ? undefined : inProcessEndpoint(options.routes, options.inProcess)
  const metricsOption = checkMetricsOption(options.metrics)
  // Schedules are checked before the store opens too: a malformed cron expression fails first.
  const scheduled = harness.scheduledRoutes
  const schedules = resolveSchedules(
    options.schedules,
    scheduled?.routes ?? options.routes,
    scheduled?.endpoint ?? local?.url,
  )
  // A PostgreSQL store (the `postgres` option) keeps the keys every node shares in the database.
  const opened = await openStoreAndKeys(options)
  const { keys } = opened
  const ownsStore = options.store === undefined
  let loop: DeliveryLoop | undefined
  let pressure: BackPressure | undefined
  let committer: GroupCommitter | undefined
  let limits: AdaptiveConcurrency | undefined
  const metrics =
    metricsOption === false
      ? undefined
      : new SchedulerMetrics(
          {
            countCalls: (unfinishedOnly) => opened.store.countCalls({ unfinishedOnly }),
            nextDueAt: () => opened.store.nextDueAt(),
            queueBacklog:
              opened.store.queueBacklog === undefined
                ? undefined
                : (limit) => opened.store.queueBacklog!(resolved.now(), limit),
            now: resolved.now,
            endpoints: () => limits?.snapshot() ?? [],
            inFlight: () => loop?.inFlight ?? 0,
            unfinishedCalls: () => pressure?.unfinishedCalls,
            queuedCalls: () => committer?.queuedCalls,
          },
          metricsOption,
        )
  // Every part sees the store through its timer, so the commit latencies are measured in one place.
  const store =
    metrics === undefined ? opened.store : timedStore(opened.store, (op, s) => metrics.storeOperation(op, s))
  const events = new CallEvents()
  const owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`
  const client = new EndpointClient(
    keys.privateKey,
    resolved.concurrency,
    resolved.protoEndpoints,
    resolved.batchMaxCalls !== undefined,
  )
  const remote = resolved.batchMaxCalls === undefined ? client : new BatchingTransport(client, resolved.batchMaxCalls)
  const transport =
    harness.transport ??
    (local === undefined
      ? remote
      : new InProcessTransport(
          // Asked for every attempt: the URL as dispatched nearly always is the key already.
          (url) => (url === local.url || endpointKey(url) === local.url ? local.run : undefined),
          remote,
        ))
  const timeouts = [resolved.retry, ...Object.values(resolved.functions)].map((p) => p.attemptTimeoutMs ?? 0)
  const leaseMs = Math.max(...timeouts) + margin
  // On a shared store (PostgreSQL) claims take a short lease renewed while the attempt runs, so another
  // node takes a dead node's calls over after that short lease (never renewed past `leaseMs`).
  const renewLeases = store.renewLeases?.bind(store)
  const renewal =
    renewLeases !== undefined && store.renewedLeaseMs !== undefined
      ? new LeaseRenewal(
          { renewLeases },
          {
            owner,
            leaseMs: store.renewedLeaseMs,
            maxLeaseMs: leaseMs,
            now: resolved.now,
            onError: (error) => app.log.warn({ err: error }, 'renewing leases failed; retrying'),
          },
        )
      : undefined
  limits = resolved.adaptiveConcurrency === false ? undefined : new AdaptiveConcurrency(resolved.adaptiveConcurrency)
  const fair = new DeficitRoundRobin(store, {
    owner,
    leaseMs: renewal?.leaseMs ?? leaseMs,
    batchSize: Math.min(resolved.concurrency, 500),
    weights: resolved.weights,
    limits,
  })
  const selector = new CappedClaims(fair, store, {
    owner,
    leaseMs: renewal?.leaseMs ?? leaseMs,
    batchSize: Math.min(resolved.concurrency, 500),
    limits,
    wake: () => loop?.wake(),
    now: resolved.now,
    weights: resolved.weights,
  })
  committer = resolved.groupCommit
    ? new GroupCommitter(store, { idempotencyWindowMs: resolved.idempotencyWindowMs, now: resolved.now })
    : undefined
  pressure =
    resolved.backPressure === false
      ? undefined
      : new BackPressure(store, resolved.backPressure, () => committer?.queuedCalls ?? 0)
  // What `stats()` and the CallService's Stats answer beside the counts (visible limits).
  const liveStats = () => ({
    endpoints: limits?.snapshot() ?? [],
    inFlight: loop?.inFlight ?? 0,
    ...(pressure !== undefined ? { unfinishedCalls: pressure.unfinishedCalls } : {}),
    ...(committer !== undefined ? { queuedCalls: committer.queuedCalls } : {}),
  })
  const app = buildApiServer({
    store,
    events,
    options: resolved,
    apiKey: keys.apiKey,
    onNewWork: (queues, capped) => {
      // A redrive or a signal names no queue: the call may be a capped one.
      selector.notice(queues, capped ?? queues === undefined)
      loop?.wake()
    },
    committer,
    pressure,
    liveStats,
    faults: harness.faults,
    metrics,
    dashboard:
      options.dashboard === true ? {} : options.dashboard === false ? undefined : (options.dashboard ?? undefined),
    ...loggerOptions(options.logger),
  })
  const scheduleStore = scheduleStoreOf(store)
  const ticker =
    scheduleStore === undefined
      ? undefined
      : new ScheduleTicker(scheduleStore, schedules, {
          now: resolved.now,
          policies: resolved,
          onCalls: (calls) => {
            pressure?.inserted(calls.length)
            selector.notice(
              undefined,
              calls.some((call) => call.concurrency !== undefined || call.rateLimit !== undefined),
            )
            loop?.wake()
          },
          onError: (error) => app.log.warn({ err: error }, 'firing schedules failed; trying again'),
          faults: harness.faults,
        })
  registerScheduleRoutes(app, {
    store: scheduleStore,
    ticker,
    declared: new Set(schedules.map((schedule) => schedule.definition.name)),
    now: resolved.now,
  })
  loop = new DeliveryLoop({
    store,
    selector: renewal?.track(selector) ?? selector,
    client: transport,
    events,
    options: resolved,
    owner,
    log: app.log,
    limits,
    faults: harness.faults,
    metrics,
    onSlotFreed: () => selector.slotFreed(),
    onRecorded: (batch) => {
      pressure?.recorded(batch)
      renewal?.recorded(batch)
    },
  })
  const deliveries = loop
  harness.control?.({
    wake: () => {
      selector.notice()
      deliveries.wake()
      // The clock moved: ticks it passed are due.
      ticker?.wake()
    },
  })
  // Another node inserted or released calls (LISTEN/NOTIFY): an idle node claims at once.
  const stopListening = store.onNewWork?.(() => {
    selector.notice()
    loop?.wake()
  })
  let purgeTimer: NodeJS.Timeout | undefined
  // Pools and limits of endpoint origins left idle are dropped, so many origins do not pile up.
  const sweepTimer = setInterval(() => {
    client.sweep()
    limits?.sweep()
  }, resolved.endpointIdleMs)
  sweepTimer.unref()
  const retention =
    resolved.retentionMs > 0
      ? new Retention(
          store,
          resolved.retentionMs,
          (error) => app.log.warn({ err: error }, 'deleting finished calls (retention) failed; trying again later'),
          resolved.now,
        )
      : undefined
  const purge = () =>
    store
      .purgeIdempotencyKeys(resolved.now() - resolved.idempotencyWindowMs)
      .catch((error: unknown) => app.log.warn({ err: error }, 'purging idempotency keys failed'))

  if (retention !== undefined && resolved.retentionMs < resolved.idempotencyWindowMs) {
    app.log.warn(
      { retentionMs: resolved.retentionMs, idempotencyWindowMs: resolved.idempotencyWindowMs },
      "retention is shorter than the idempotency window: a key repeated after its call was deleted returns that call's id, which Get no longer finds",
    )
  }
  if (store.tightened !== undefined && store.tightened.length > 0) {
    app.log.warn({ files: store.tightened }, 'database files other users could read were made owner-only (0600)')
  }

  let url: string
  let scrapes: MetricsListener | undefined
  try {
    if (store.exclusive) {
      // Nobody else can hold this store: whatever is running was left by a dead process.
      const released = await store.releaseLeases(resolved.now())
      if (released > 0) app.log.warn({ released }, 'delivering again the attempts a previous process left in flight')
    }
    if (schedules.length > 0 && ticker === undefined) {
      throw dspError('DSP3062', 'the scheduler has schedules, and its store keeps none', {
        hint: 'use the SQLite or PostgreSQL store, or implement the optional schedule methods of Store',
      })
    }
    await ticker?.sync()
    await purge()
    await pressure?.start()
    purgeTimer = setInterval(purge, IDEMPOTENCY_PURGE_MS)
    purgeTimer.unref()
    const host = options.host ?? '127.0.0.1'
    await app.listen({ host, port: options.port ?? 0 })
    const address = app.server.address()
    const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0)
    url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    if (metrics !== undefined && metricsOption !== false && metricsOption.port !== undefined) {
      scrapes = await listenForScrapes(metrics, metricsOption.host ?? '127.0.0.1', metricsOption.port)
    }
  } catch (error) {
    clearInterval(purgeTimer)
    clearInterval(sweepTimer)
    pressure?.stop()
    await app.close().catch(() => undefined)
    await scrapes?.close()
    stopListening?.()
    if (ownsStore) await store.close()
    throw error
  }
  deliveries.start()
  renewal?.start()
  retention?.start()
  ticker?.start()

  let closing: Promise<void> | undefined
  return {
    url,
    apiKey: keys.apiKey,
    verificationKeyPem: keys.verificationKeyPem,
    inProcessEndpoint: local?.url,
    metricsUrl: metrics === undefined ? undefined : (scrapes?.url ?? `${url}/metrics`),
    dashboardUrl: options.dashboard === undefined || options.dashboard === false ? undefined : `${url}/ui/`,
    stats: async () =>
      Object.assign(await store.countCalls(), {
        endpoints: liveStats().endpoints,
        unfinished: pressure?.unfinishedCalls,
      }),
    get inFlight() {
      return deliveries.inFlight
    },
    close: () => {
      closing ??= (async () => {
        clearInterval(purgeTimer)
        clearInterval(sweepTimer)
        pressure?.stop()
        await ticker?.stop()
        await retention?.stop()
        events.close()
        await scrapes?.close()
        await app.close()
        await deliveries.stop(resolved.shutdownGraceMs)
        selector.stop()
        renewal?.stop()
        await client.close()
        stopListening?.()
        if (ownsStore) await store.close()
      })()
      return closing
    },
  }
}

/**
 * The store and keys to run with. A store with shared settings (PostgreSQL: `postgres`, or a
 * `PostgresStore` as `store`) keeps the keys in it; SQLite and other stores keep them beside `dbPath`.
 */
async function openStoreAndKeys(options: SchedulerOptions): Promise<{ store: Store; keys: SchedulerKeys }> {
  const given = { apiKey: options.apiKey, signingKey: options.signingKey }
  const shared = options.store ?? (options.postgres ? await openPostgresStore(options.postgres) : undefined)
  const sharedSetting = shared?.sharedSetting?.bind(shared)
  if (shared !== undefined && sharedSetting !== undefined) {
    try {
      const settings = { sharedSetting, settingsLocation: shared.settingsLocation }
      return { store: shared, keys: await loadSharedKeys(settings, given) }
    } catch (error) {
      if (options.store === undefined) await shared.close()
      throw error
    }
  }
  if (options.dbPath === undefined && options.store !== undefined) {
    // Only a store with shared settings (PostgreSQL) holds the keys; any other keeps them in files.
    throw dspError(
      'DSP3005',
      'the store given keeps no shared settings, so the scheduler needs dbPath for its key files',
      {
        hint: "pass dbPath beside the store ({ store, dbPath: '.dispatch/dispatch.db' }: the keys are kept beside it), or a PostgresStore (it keeps them in its schema)",
      },
    )
  }
  if (options.dbPath === undefined) {
    throw dspError('DSP3005', 'the scheduler needs dbPath (SQLite) or postgres', {
      hint: "pass { dbPath: '.dispatch/dispatch.db' } or { postgres: { url } }",
    })
  }
  const keys = loadSchedulerKeys({ dbPath: options.dbPath, ...given })
  const sqlite = options.synchronous ? { synchronous: options.synchronous } : {}
  return { store: shared ?? openSqliteStore(options.dbPath, sqlite), keys }
}

/** The store's schedule methods, when it has them all. */
function scheduleStoreOf(store: Store): ScheduleStore | undefined {
  const { syncSchedules, listSchedules, fireSchedule, setSchedulePaused } = store
  if (!syncSchedules || !listSchedules || !fireSchedule || !setSchedulePaused) return undefined
  return {
    syncSchedules: syncSchedules.bind(store),
    listSchedules: listSchedules.bind(store),
    fireSchedule: fireSchedule.bind(store),
    setSchedulePaused: setSchedulePaused.bind(store),
    insertCalls: store.insertCalls.bind(store),
  }
}

/** The lease margin option, checked like the other durations. */
function leaseMargin(value: number | undefined): number {
  if (value === undefined) return LEASE_MARGIN_MS
  if (!Number.isFinite(value) || value < 0) {
    throw dspError('DSP3005', `the scheduler option leaseMarginMs is ${value}, not a number >= 0`, {
      hint: 'pass leaseMarginMs as a finite number of milliseconds',
    })
  }
  return value
}

/** The `metrics` option, its port checked before anything opens (a bad one would only fail at listen). */
function checkMetricsOption(option: SchedulerOptions['metrics']): NonNullable<SchedulerOptions['metrics']> {
  if (option === undefined) return {}
  if (option === false || option.port === undefined) return option
  if (!(Number.isInteger(option.port) && option.port >= 0 && option.port <= 65_535)) {
    throw dspError('DSP3005', `the scheduler option metrics.port is ${option.port}, not a port`, {
      hint: 'pass a whole number from 0 (a free port) to 65535',
    })
  }
  return option
}
