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
export type { ApiServerParts } from './api/apiServer.js'
export { buildApiServer, DISPATCH_PATH } from './api/apiServer.js'
export type { ApiTimeouts, ResolvedApiTimeouts } from './api/apiTimeouts.js'
export { DEFAULT_API_TIMEOUTS } from './api/apiTimeouts.js'
export type { BackPressureOptions, Refusal, ResolvedBackPressure } from './backPressure.js'
export { BackPressure } from './backPressure.js'
export { CallEvents } from './callEvents.js'
export type {
  AdaptiveConcurrencyOptions,
  EndpointConcurrency,
  ResolvedAdaptiveConcurrency,
} from './delivery/adaptiveConcurrency.js'
export { AdaptiveConcurrency } from './delivery/adaptiveConcurrency.js'
export { backoffDelay } from './delivery/backoff.js'
export type { ClaimSelector, OldestDueOptions } from './delivery/claimSelector.js'
export { oldestDueFirst } from './delivery/claimSelector.js'
export type { DecideContext } from './delivery/decideCompletion.js'
export { decideCompletion } from './delivery/decideCompletion.js'
export type { DeficitRoundRobinOptions, FairnessOptions } from './delivery/deficitRoundRobin.js'
export { DeficitRoundRobin } from './delivery/deficitRoundRobin.js'
export type { DeliveryLoopParts } from './delivery/deliveryLoop.js'
export { DeliveryLoop } from './delivery/deliveryLoop.js'
export type { PostOutcome } from './delivery/endpointClient.js'
export { EndpointClient, runUrl } from './delivery/endpointClient.js'
export { httpStatus, transportStatus } from './delivery/transportStatus.js'
export { newDispatchId } from './dispatchId.js'
export { EndpointAllowList } from './endpointAllowList.js'
export type { GroupCommitOptions } from './groupCommitter.js'
export { GroupCommitter } from './groupCommitter.js'
export type { KeySources, SchedulerKeys } from './keys/loadSchedulerKeys.js'
export { loadSchedulerKeys } from './keys/loadSchedulerKeys.js'
export type {
  ResolvedRetryPolicy,
  ResolvedSchedulerOptions,
  RetryPolicy,
  SchedulerOptions,
} from './schedulerOptions.js'
export { DEFAULT_RETRY_POLICY, policyFor, resolveSchedulerOptions } from './schedulerOptions.js'
export type { Scheduler, SchedulerStats } from './startScheduler.js'
export { startScheduler } from './startScheduler.js'
export { IdempotencyConflict, inputDigest } from './store/idempotencyConflict.js'
// The PostgreSQL store, shared by several scheduler nodes.
export { POSTGRES_MIGRATIONS } from './store/postgresSchema.js'
export type { PostgresStoreOptions } from './store/postgresStore.js'
export { openPostgresStore, PostgresStore } from './store/postgresStore.js'
export { checkPostgresUrl, redactPostgresUrl } from './store/postgresUrl.js'
export { SQLITE_MIGRATIONS } from './store/sqliteSchema.js'
export type { SqliteStoreOptions } from './store/sqliteStore.js'
export { openSqliteStore, SqliteStore } from './store/sqliteStore.js'
export type {
  CallCounts,
  ChangeResult,
  ClaimRequest,
  Completion,
  InsertOptions,
  InsertResult,
  ListedCall,
  ListFilter,
  ListPage,
  NewCall,
  QueueClaim,
  QueueClaimRequest,
  QueueKey,
  Store,
  StoredCall,
} from './store/store.js'
