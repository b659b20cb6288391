import type { Routes } from 'dispatch-functions'
import type { DurationInput } from 'dispatch-functions/internal'
import {
  type DispatchError,
  dspError,
  MAX_BATCH_CALLS,
  MAX_KEY_CONCURRENCY,
  MAX_PRIORITY,
  MAX_RATE_LIMIT,
  MAX_RATE_PERIOD_MS,
  MIN_PRIORITY,
  MIN_RATE_PERIOD_MS,
} from 'dispatch-functions/protocol'
import type { ApiOptions } from './api/apiOptions.js'
import { type ApiTimeouts, resolveApiTimeouts } from './api/apiTimeouts.js'
import type { BackPressureOptions, ResolvedBackPressure } from './api/backPressure.js'
import type { DashboardOptions } from './api/dashboardOptions.js'
import { EndpointAllowList } from './calls/endpointAllowList.js'
import {
  DEFAULT_PRIORITY_STEP_MS,
  DEFAULT_RETRY_POLICY,
  definedFields,
  type FunctionPolicy,
  type RetryPolicy,
} from './calls/retryPolicy.js'
import { checkDebouncePolicy } from './calls/withDebounce.js'
import type { AdaptiveConcurrencyOptions, ResolvedAdaptiveConcurrency } from './delivery/adaptiveConcurrency.js'
import { DEFAULT_BATCH_CALLS } from './delivery/defaultBatchCalls.js'
import type { FairnessOptions } from './delivery/deficitRoundRobin.js'
import type { DeliveryOptions } from './delivery/deliveryOptions.js'
import type { InProcessOptions } from './delivery/inProcessEndpoint.js'
import type { MetricsOptions } from './metrics/metricsOptions.js'
import type { ScheduleOptions } from './schedules/scheduleOptions.js'
import type { PostgresStoreOptions } from './store/postgresStore.js'
import type { Store } from './store/store.js'

export interface SchedulerOptions {
  /**
   * The SQLite file; created with its folder. The API and signing keys are kept beside it.
   * Required unless `postgres` (or a `store`) is given (PostgreSQL has no file).
   */
  readonly dbPath?: string
  /** Default '127.0.0.1'. */
  readonly host?: string
  /** Default 0 (a free port; read `scheduler.url`). */
  readonly port?: number
  /** Default `DISPATCH_API_KEY`, else generated on first start and kept in `<dbPath>.api-key` (mode 0600). */
  readonly apiKey?: string
  /**
   * Ed25519 key deliveries are signed with: PEM PKCS#8 (a literal `\n` allowed) or base64 of the
   * 32-byte seed. Default `DISPATCH_SIGNING_KEY`, else generated on first start and kept in
   * `<dbPath>.signing-key.pem` (mode 0600).
   */
  readonly signingKey?: string
  /**
   * `true` logs at info; an object is pino options or a pino-compatible logger. Default: warnings
   * and errors only. Logs are JSON lines on stderr unless the options name another stream.
   */
  readonly logger?: boolean | object
  /**
   * Functions the scheduler runs in its own process: a call addressed to `inProcess.endpoint`
   * (default `http://in-process.localhost`) goes to this route table directly — no HTTP, no
   * signature — with the same validation, statuses, retries, coroutines, fairness and adaptive
   * concurrency. Calls to any other endpoint are delivered over HTTP as usual, so one scheduler
   * can mix both.
   */
  readonly routes?: Routes
  /** Options of the in-process functions (`routes`): their endpoint URL, classifiers, journal limit. */
  readonly inProcess?: InProcessOptions
  /** Retry defaults for every function. */
  readonly retry?: RetryPolicy
  /**
   * Per-function overrides, by function name: of {@link retry}, and of the flow options the function
   * declares (`priority`, `concurrency`; docs/flow-control.md), for this deployment.
   */
  readonly functions?: Readonly<Record<string, FunctionPolicy>>
  /**
   * The head start one priority level gives a call due at dispatch, in ms: a call of priority `p` is
   * claimed as if it had waited `p` times this long already (docs/flow-control.md). Default 60000.
   */
  readonly priorityStepMs?: number
  /** Attempts in flight at once, over all endpoints. Default 100. */
  readonly concurrency?: number
  /** Without a wake-up (a dispatch, a finished attempt), look for due calls this often, in ms. Default 1000. */
  readonly pollIntervalMs?: number
  /** The same idempotency key within this window, in ms, returns the first call's id. Default 24 hours. */
  readonly idempotencyWindowMs?: number
  /** On close, in-flight attempts get this long, in ms, to finish before they are abandoned (and redelivered on the next start). Default 5000. */
  readonly shutdownGraceMs?: number
  /** The largest request body, in bytes; a bigger one is answered 413 and never retried. Default 64 MiB. */
  readonly bodyLimit?: number
  /** Deadlines of the API's connections (headers, whole request, keep-alive, idle); see {@link ApiTimeouts}. */
  readonly apiTimeouts?: ApiTimeouts
  /**
   * A List page stops once its calls add up to this many bytes of input, output and error (at least one
   * call per page); the next cursor continues after it. Default 4 MiB.
   */
  readonly listPageBytes?: number
  /** List leaves out an input, output or error over this many bytes (Get returns it in full). Default 64 KiB. */
  readonly listMessageBytes?: number
  /**
   * The connection pool and the adaptive concurrency limit of an endpoint origin with nothing in flight
   * are dropped after this long unused, in ms (between once and twice this). Default 300000.
   */
  readonly endpointIdleMs?: number
  /**
   * Only these endpoints are called: a Dispatch, a coroutine's child call or a tail call to any other is
   * refused. Each pattern is an http(s) URL prefix (`https://app.example.com/`, `https://*.example.com/api`);
   * see docs/scheduler.md. Default: every endpoint.
   */
  readonly allowEndpoints?: readonly string[]
  /**
   * Endpoints delivered to in binary protobuf (`application/proto`, the Dispatch SDKs' codec) instead of
   * JSON: URL prefixes with the syntax of `allowEndpoints` (docs/scheduler.md, "Codecs"). Default: none,
   * every endpoint gets JSON.
   */
  readonly protoEndpoints?: readonly string[]
  /**
   * Several attempts per signed request to the endpoints that advertise batches (docs/protocol.md,
   * "Batched delivery"), with their answers streamed back as each call finishes: up to `maxCalls`
   * (1 to 256) attempts ready at once for one endpoint share one request; nothing waits to fill a
   * batch, so at low load a batch is one call. JSON endpoints only; other endpoints, and those that do
   * not advertise batches, get one request per attempt. Default: `{ maxCalls: 32 }`; `false` or
   * `{ maxCalls: 1 }`: one request per attempt to every endpoint.
   */
  readonly batchDelivery?: { readonly maxCalls: number } | false
  /** SQLite `synchronous`: 'FULL' (default) or 'NORMAL' (survives a process crash, not a power loss). */
  readonly synchronous?: 'FULL' | 'NORMAL'
  /** Use this store instead of SQLite at `dbPath` (the keys are still kept beside `dbPath`). */
  readonly store?: Store
  /**
   * Store calls in PostgreSQL (opened, migrated and closed by the scheduler), shared by
   * every node given the same URL and schema. The keys then live in the schema's `settings` table
   * unless `apiKey`/`signingKey` or DISPATCH_API_KEY/DISPATCH_SIGNING_KEY set them.
   */
  readonly postgres?: PostgresStoreOptions
  /**
   * A lease lasts the longest attempt timeout plus this margin, in ms (on PostgreSQL: short
   * leases, `postgres.leaseMs`, are renewed up to it). Default 60000.
   */
  readonly leaseMarginMs?: number
  /**
   * Fair scheduling (deficit round robin over (endpoint, function, fairness key) queues), always on;
   * `weights` gives fairness keys other shares than 1, e.g. `{ weights: { tenantA: 2 } }`.
   */
  readonly fairness?: FairnessOptions
  /** Per-endpoint AIMD concurrency bounds; `false` turns it off (only `concurrency` limits). */
  readonly adaptiveConcurrency?: AdaptiveConcurrencyOptions | false
  /** When the Dispatch API answers 429 with Retry-After; `false` never refuses. */
  readonly backPressure?: BackPressureOptions | false
  /** Merge concurrent Dispatch requests into one transaction (default true). */
  readonly groupCommit?: boolean
  /**
   * Finished calls (succeeded, failed, cancelled) are deleted this long after they finished:
   * milliseconds or a duration string (`'7d'`, `'12h'`). Default 7 days; `0` or `false` keeps them
   * forever. A call whose parent or root coroutine is still live is kept until that has finished too.
   */
  readonly retention?: DurationInput | false
  /**
   * Prometheus metrics on `GET /metrics` of the API, behind the API key (docs/observability.md);
   * `{ port }` also serves them on a listener of their own, without the key, on loopback unless
   * `host` says otherwise. `false`: no metrics are kept or served. Default: on the API.
   */
  readonly metrics?: MetricsOptions | false
  /**
   * The web dashboard on the API under `/ui/` (docs/dashboard.md): calls, a call's attempts and tree,
   * cancel and redrive, an overview; logged in with the API key. `true` or options: served; default off.
   */
  readonly dashboard?: DashboardOptions | boolean
  /**
   * Functions run on cron expressions (docs/flow-control.md, "Schedules"): one call per tick across
   * every node sharing the store. The in-process `routes` that declare `@schedule` are scheduled
   * without being listed here; an entry with the name of one (its function's name) overrides it for
   * this deployment.
   */
  readonly schedules?: readonly ScheduleOptions[]
}

/**
 * The options the scheduler runs with, defaults filled in: what delivery and the API each take, and
 * the rest, which only start-up reads.
 */
export interface ResolvedSchedulerOptions extends DeliveryOptions, ApiOptions {
  readonly shutdownGraceMs: number
  readonly endpointIdleMs: number
  readonly weights: Readonly<Record<string, number>>
  readonly adaptiveConcurrency: ResolvedAdaptiveConcurrency | false
  readonly backPressure: ResolvedBackPressure | false
  readonly groupCommit: boolean
  /** Finished calls are deleted this long after they finished, in ms; 0: never. */
  readonly retentionMs: number
  /** The endpoints delivered to in binary protobuf; undefined: none. */
  readonly protoEndpoints: EndpointAllowList | undefined
  /** The most attempts per batched request; undefined: batching off. */
  readonly batchMaxCalls: number | undefined
}

export const DEFAULT_RETENTION_MS = 7 * 86_400_000

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** The `retention` option in ms (0: off); DSP3041 when it is not a duration. */
export function resolveRetention(option: DurationInput | false | undefined): number {
  if (option === undefined) return DEFAULT_RETENTION_MS
  if (option === false) return 0
  const match = typeof option === 'string' ? DURATION.exec(option) : undefined
  const ms =
    typeof option === 'number' ? option : match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : NaN
  if (!Number.isFinite(ms) || ms < 0) {
    throw dspError('DSP3041', `the scheduler option retention is ${JSON.stringify(option)}, not a duration`, {
      hint: "pass milliseconds (a number >= 0) or a string like '12h' or '7d'; 0 or false keeps finished calls forever",
    })
  }
  return ms
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0) {
    throw dspError('DSP3005', `the scheduler option ${name} is ${value}, not a number >= 0`, {
      hint: `pass ${name} as a finite number of ${name === 'concurrency' ? 'attempts' : /bytes$|Limit$/i.test(name) ? 'bytes' : 'milliseconds'}`,
    })
  }
  return value
}

function checkPolicy(where: string, policy: FunctionPolicy): FunctionPolicy {
  for (const [field, value] of Object.entries(policy)) {
    // rateLimit and debounce are objects, checked below.
    if (value !== undefined && field !== 'rateLimit' && field !== 'debounce')
      positive(`${where}.${field}`, value as number, 0)
  }
  if (policy.maxAttempts !== undefined && !(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1)) {
    throw dspError('DSP3005', `the scheduler option ${where}.maxAttempts is ${policy.maxAttempts}`, {
      hint: 'maxAttempts is a whole number >= 1',
    })
  }
  const { priority, concurrency, rateLimit } = policy
  if (
    rateLimit !== undefined &&
    !(
      Number.isInteger(rateLimit?.limit) &&
      rateLimit.limit >= 1 &&
      rateLimit.limit <= MAX_RATE_LIMIT &&
      Number.isInteger(rateLimit.periodMs) &&
      rateLimit.periodMs >= MIN_RATE_PERIOD_MS &&
      rateLimit.periodMs <= MAX_RATE_PERIOD_MS
    )
  ) {
    throw dspError('DSP3005', `the scheduler option ${where}.rateLimit is ${JSON.stringify(rateLimit)}`, {
      hint: `rateLimit is { limit, periodMs }: limit a whole number from 1 to ${MAX_RATE_LIMIT}, periodMs from ${MIN_RATE_PERIOD_MS} to ${MAX_RATE_PERIOD_MS} (docs/flow-control.md)`,
    })
  }
  if (
    concurrency !== undefined &&
    !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= MAX_KEY_CONCURRENCY)
  ) {
    throw dspError('DSP3005', `the scheduler option ${where}.concurrency is ${concurrency}`, {
      hint: `concurrency is a whole number from 1 to ${MAX_KEY_CONCURRENCY} (docs/flow-control.md)`,
    })
  }
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= MIN_PRIORITY && priority <= MAX_PRIORITY)) {
    throw dspError('DSP3005', `the scheduler option ${where}.priority is ${priority}`, {
      hint: `priority is a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY} (docs/flow-control.md)`,
    })
  }
  if (policy.debounce !== undefined) checkDebouncePolicy(where, policy.debounce)
  return policy
}

function underLoadError(message: string, hint: string): DispatchError {
  return dspError('DSP3601', message, { hint })
}

function resolveAdaptive(
  option: AdaptiveConcurrencyOptions | false | undefined,
  concurrency: number,
): ResolvedAdaptiveConcurrency | false {
  if (option === false) return false
  const o = option ?? {}
  const bound = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback
    if (!Number.isFinite(v) || v < 1) {
      throw underLoadError(`the scheduler option adaptiveConcurrency.${name} is ${v}`, 'pass a number >= 1')
    }
    return v
  }
  const min = bound('min', o.min, 1)
  const max = bound('max', o.max, concurrency)
  const initial = bound('initial', o.initial, Math.max(min, Math.min(max, 32)))
  if (!(min <= initial && initial <= max)) {
    throw underLoadError(
      `the scheduler options adaptiveConcurrency.min/initial/max are ${min}/${initial}/${max}`,
      'they must satisfy min <= initial <= max',
    )
  }
  const decrease = o.decrease ?? 0.75
  if (!(decrease > 0 && decrease < 1)) {
    throw underLoadError(
      `the scheduler option adaptiveConcurrency.decrease is ${decrease}`,
      'pass a factor between 0 and 1 (exclusive)',
    )
  }
  return { min, max, initial, decrease }
}

function resolveWeights(fairness: FairnessOptions | undefined): Readonly<Record<string, number>> {
  const weights = fairness?.weights ?? {}
  for (const [key, weight] of Object.entries(weights)) {
    if (!(Number.isFinite(weight) && weight > 0)) {
      throw underLoadError(
        `the fairness weight of ${JSON.stringify(key)} is ${weight}`,
        'a weight is a number > 0 (1 is the share of every key not named)',
      )
    }
  }
  return weights
}

function resolveBackPressure(option: BackPressureOptions | false | undefined): ResolvedBackPressure | false {
  if (option === false) return false
  const o = option ?? {}
  return {
    maxUnfinishedCalls: positive('backPressure.maxUnfinishedCalls', o.maxUnfinishedCalls, 1_000_000),
    maxQueuedCalls: positive('backPressure.maxQueuedCalls', o.maxQueuedCalls, 50_000),
    retryAfterS: Math.max(1, Math.ceil(positive('backPressure.retryAfterS', o.retryAfterS, 1))),
  }
}

export function resolveSchedulerOptions(options: SchedulerOptions): ResolvedSchedulerOptions {
  for (const [name, policy] of Object.entries(options.functions ?? {})) checkPolicy(`functions.${name}`, policy)
  const retry = { ...DEFAULT_RETRY_POLICY, ...definedFields(checkPolicy('retry', options.retry ?? {})) }
  const concurrency = Math.max(1, Math.floor(positive('concurrency', options.concurrency, 100)))
  return {
    now: Date.now,
    retry,
    functions: options.functions ?? {},
    priorityStepMs: positive('priorityStepMs', options.priorityStepMs, DEFAULT_PRIORITY_STEP_MS),
    concurrency,
    weights: resolveWeights(options.fairness),
    adaptiveConcurrency: resolveAdaptive(options.adaptiveConcurrency, concurrency),
    backPressure: resolveBackPressure(options.backPressure),
    groupCommit: options.groupCommit ?? true,
    retentionMs: resolveRetention(options.retention),
    pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, 1000),
    idempotencyWindowMs: positive('idempotencyWindowMs', options.idempotencyWindowMs, 86_400_000),
    shutdownGraceMs: positive('shutdownGraceMs', options.shutdownGraceMs, 5000),
    bodyLimit: positive('bodyLimit', options.bodyLimit, 64 * 1024 * 1024),
    apiTimeouts: resolveApiTimeouts(options.apiTimeouts),
    listPageBytes: Math.max(1, positive('listPageBytes', options.listPageBytes, 4 * 1024 * 1024)),
    listMessageBytes: positive('listMessageBytes', options.listMessageBytes, 64 * 1024),
    // A timer period: at least 10 ms, and no more than setInterval can hold (about 24 days).
    endpointIdleMs: Math.min(2 ** 31 - 1, Math.max(10, positive('endpointIdleMs', options.endpointIdleMs, 300_000))),
    allowEndpoints: options.allowEndpoints === undefined ? undefined : new EndpointAllowList(options.allowEndpoints),
    protoEndpoints:
      options.protoEndpoints === undefined || options.protoEndpoints.length === 0
        ? undefined
        : new EndpointAllowList(options.protoEndpoints, 'protoEndpoints'),
    batchMaxCalls: batchMaxCallsOf(options.batchDelivery),
  }
}

function batchMaxCallsOf(option: SchedulerOptions['batchDelivery']): number | undefined {
  if (option === false) return undefined
  if (option === undefined) return DEFAULT_BATCH_CALLS
  const hint = `pass batchDelivery: { maxCalls: N } with N a whole number from 1 to ${MAX_BATCH_CALLS} (the most attempts sent in one request; 1: one per request), or batchDelivery: false`
  // Options also come from JavaScript and parsed JSON: say what was given, not what TypeScript expects.
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw dspError('DSP3005', `the scheduler option batchDelivery is ${shown(option)}, not an object or false`, {
      hint,
    })
  }
  const max: unknown = option.maxCalls
  if (!(typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= MAX_BATCH_CALLS)) {
    throw dspError(
      'DSP3005',
      `the scheduler option batchDelivery.maxCalls is ${shown(max)}, not a whole number from 1 to ${MAX_BATCH_CALLS}`,
      { hint },
    )
  }
  return max === 1 ? undefined : max
}

/** A value as a person would write it in an option: JSON, else its text (undefined, NaN, functions). */
function shown(value: unknown): string {
  if (typeof value === 'number') return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
