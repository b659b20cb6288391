/**
 * @module
 * dispatch-functions-tools/scheduler: the embedded durable scheduler. It stores dispatched calls in
 * SQLite (or another {@link Store}), serves the Dispatch API and the CallService, and delivers
 * calls to endpoints as signed RunRequests with retries, backoff and expiration. `dispatch run`
 * and `dispatch scheduler` are built on {@link startScheduler}.
 *
 * @example
 * ```ts
 * import { startScheduler } from 'dispatch-functions-tools/scheduler'
 * const scheduler = await startScheduler({ dbPath: '.dispatch/dispatch.db', retry: { maxAttempts: 5 } })
 * console.log(scheduler.url, scheduler.verificationKeyPem)
 * await scheduler.close()
 * ```
 */

/** Deadlines of the API's connections: the `apiTimeouts` option. */
export type { ApiTimeouts } from './api/apiTimeouts.js'
/** When the Dispatch API answers 429: the `backPressure` option. */
export type { BackPressureOptions } from './api/backPressure.js'
/** The web dashboard: the `dashboard` option. */
export type { DashboardOptions } from './api/dashboardOptions.js'
/** How one function's calls are attempted: the `retry` and `functions` options. */
export type { RetryPolicy } from './calls/retryPolicy.js'
/** Per-endpoint AIMD concurrency bounds (the `adaptiveConcurrency` option), and one endpoint's figures in `stats()`. */
export type { AdaptiveConcurrencyOptions, EndpointConcurrency } from './delivery/adaptiveConcurrency.js'
/** Fair scheduling between fairness keys: the `fairness` option. */
export type { FairnessOptions } from './delivery/deficitRoundRobin.js'
/** Options of the functions a scheduler runs in its own process (`SchedulerOptions.routes`). */
export type { InProcessOptions } from './delivery/inProcessEndpoint.js'
/** Prometheus metrics: the `metrics` option (docs/observability.md). */
export type { MetricsOptions } from './metrics/metricsOptions.js'
/** The options of {@link startScheduler}. */
export type { SchedulerOptions } from './schedulerOptions.js'
/** A function run on a cron expression: an entry of the `schedules` option (docs/flow-control.md). */
export type { ScheduleOptions } from './schedules/scheduleOptions.js'
/** A running scheduler, and what its `stats()` answers. */
export type { Scheduler, SchedulerStats } from './startScheduler.js'
/** Starts the embedded scheduler: store, keys, API and delivery. */
export { startScheduler } from './startScheduler.js'
/** What a {@link Store} throws when an idempotency key is reused with another input. */
export { IdempotencyConflict } from './store/idempotencyConflict.js'
/** The options of {@link openPostgresStore} (and of the `postgres` scheduler option). */
export type { PostgresStoreOptions } from './store/postgresStore.js'
/** The PostgreSQL store several scheduler nodes share, and how to open it. */
export { openPostgresStore, PostgresStore } from './store/postgresStore.js'
/** The options of {@link openSqliteStore}. */
export type { SqliteStoreOptions } from './store/sqliteStore.js'
/** The embedded SQLite store, and how to open it. */
export { openSqliteStore, SqliteStore } from './store/sqliteStore.js'
/** Durable storage of calls ({@link Store}), and the values its methods take and return. */
export type {
  CallCounts,
  CappedClaimRequest,
  CappedTurn,
  ChangeResult,
  ClaimRequest,
  Completion,
  CoroutineState,
  CountOptions,
  InsertOptions,
  InsertResult,
  LeaseExtension,
  ListedCall,
  ListFilter,
  ListPage,
  NewCall,
  NewDebounce,
  QueueBacklog,
  QueueClaim,
  QueueClaimRequest,
  QueueKey,
  ScheduleDefinition,
  ScheduleFiring,
  ScheduleSync,
  Store,
  StoredAttempt,
  StoredCall,
  StoredDebounce,
  StoredPoll,
  StoredResult,
  StoredSchedule,
} from './store/store.js'
