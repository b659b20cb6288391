import { dspError } from '../../schemas/errors/dspError.js'
import type { Status } from '../../schemas/status.js'
import { LabelledCounter, type Series } from './labelledCounter.js'
import { type HistogramSeries, LabelledHistogram } from './labelledHistogram.js'
import type { MetricsRegistry, RegistryMetric } from './metricsRegistry.js'

/** Seconds: from a millisecond to a few minutes (the scheduler's default attempt timeout is 5 minutes). */
const RUN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/**
 * What failed validation, the `kind` of `dispatch_endpoint_validation_failures_total`: a function's
 * arguments (`input`) or declared result (`output`), or, before any function is chosen, a body that
 * is not a RunRequest (`request`) or one naming a function not registered here (`unknown_function`).
 */
export type ValidationKind = 'input' | 'output' | 'request' | 'unknown_function'

/**
 * Why a request was refused for its signature, the `reason` of
 * `dispatch_endpoint_signature_refusals_total`: no signature (`unsigned`), one that does not verify
 * for this endpoint with the key (`bad_signature`), one already accepted (`replayed`), or one that
 * is malformed, expired, from the future or does not cover what it must (`invalid`).
 */
export type RefusalReason = 'unsigned' | 'bad_signature' | 'replayed' | 'invalid'

/** One function's series, kept so that a run changes numbers without a label look-up. */
export interface FunctionRunSeries {
  readonly inFlight: Series
  readonly duration: HistogramSeries
  readonly byStatus: Map<string, Series>
  readonly name: string
}

/**
 * An endpoint's Prometheus metrics, registered in the application's registry. Labels are bounded
 * by the route table: a function name is a label only once it matched a registered route.
 */
export class EndpointMetrics {
  private readonly runs = new LabelledCounter(
    'dispatch_endpoint_runs_total',
    'Runs of a registered function that ended, by function and the status of the RunResponse (a coroutine suspending is STATUS_OK).',
    'counter',
    ['function', 'status'],
  )
  private readonly duration = new LabelledHistogram(
    'dispatch_endpoint_run_duration_seconds',
    "How long runs took, from the request's function found to its answer (input validation, the function, the result encoded), by function.",
    'function',
    RUN_BUCKETS,
  )
  private readonly inFlight = new LabelledCounter(
    'dispatch_endpoint_runs_in_flight',
    'Runs in progress, by function.',
    'gauge',
    ['function'],
    // A registry's resetMetrics() while runs are in progress would drive it below zero as they end.
    { resettable: false },
  )
  private readonly validation = new LabelledCounter(
    'dispatch_endpoint_validation_failures_total',
    "Requests answered without running the function, by function and kind: input (the arguments do not match the parameters), request (the body is not a RunRequest), unknown_function; and results refused (output) after it ran. Function '' when none was matched.",
    'counter',
    ['function', 'kind'],
  )
  private readonly refusals = new LabelledCounter(
    'dispatch_endpoint_signature_refusals_total',
    'Requests refused for their signature (401/403), by reason: unsigned, bad_signature, replayed, invalid.',
    'counter',
    ['reason'],
  )
  private readonly byFunction = new Map<string, FunctionRunSeries>()

  constructor(registry: MetricsRegistry) {
    const metrics = [this.runs, this.duration, this.inFlight, this.validation, this.refusals]
    // All or none: a registry that refuses one name (taken already) must not keep the others as
    // series that never move, nor name them as taken on the next attempt.
    const taken = metrics.find((metric) => registry.getSingleMetric?.(metric.name) !== undefined)
    if (taken !== undefined) throw new Error(`A metric with the name ${taken.name} has already been registered.`)
    const registered: RegistryMetric[] = []
    try {
      for (const metric of metrics) {
        registry.registerMetric(metric as never)
        registered.push(metric)
      }
    } catch (error) {
      for (const metric of registered) registry.removeSingleMetric?.(metric.name)
      throw error
    }
  }

  /** A run of a registered function starts: counted in flight until {@link runEnded}. */
  runStarted(fn: string): FunctionRunSeries {
    let series = this.byFunction.get(fn)
    if (series === undefined) {
      series = { inFlight: this.inFlight.labels(fn), duration: this.duration.labels(fn), byStatus: new Map(), name: fn }
      this.byFunction.set(fn, series)
    }
    series.inFlight.value++
    return series
  }

  /** The run answered `status` after `seconds`. */
  runEnded(series: FunctionRunSeries, status: Status, seconds: number): void {
    series.inFlight.value--
    series.duration.observe(seconds)
    let counter = series.byStatus.get(status)
    if (counter === undefined) {
      counter = this.runs.labels(series.name, status)
      series.byStatus.set(status, counter)
    }
    counter.value++
  }

  /** Something failed validation (`fn` '' when no registered function was matched). */
  invalid(fn: string, kind: ValidationKind): void {
    this.validation.labels(fn, kind).value++
  }

  /** A request was refused for its signature. */
  refused(reason: RefusalReason): void {
    this.refusals.labels(reason).value++
  }
}

// Endpoints given the same registry share one set of metrics (a registry holds each name once):
// two adapters, or a plugin registered twice, add to the same series.
const byRegistry = new WeakMap<object, EndpointMetrics>()

/**
 * The metrics of the endpoints that register in `registry`, created at first use. Throws DSP2205
 * when `registry` is not a registry, or refuses the metrics (a name already taken by another metric).
 */
export function endpointMetricsFor(registry: unknown, framework: string): EndpointMetrics {
  if (
    typeof registry !== 'object' ||
    registry === null ||
    typeof (registry as Partial<MetricsRegistry>).registerMetric !== 'function'
  ) {
    throw dspError('DSP2205', `${framework}: metrics must be a Prometheus registry, not ${describe(registry)}`, {
      hint: "pass a prom-client Registry (import { Registry } from 'prom-client'; metrics: new Registry()), or leave metrics out",
    })
  }
  let metrics = byRegistry.get(registry)
  if (metrics === undefined) {
    try {
      metrics = new EndpointMetrics(registry as MetricsRegistry)
    } catch (error) {
      throw dspError(
        'DSP2205',
        `${framework}: the metrics registry refused the endpoint's metrics: ${(error as Error)?.message ?? String(error)}`,
        { hint: 'give the endpoint a registry whose metric names do not start with dispatch_endpoint_' },
      )
    }
    byRegistry.set(registry, metrics)
  }
  return metrics
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return `a ${typeof value}`
  return `an object without registerMetric (${Object.keys(value).slice(0, 5).join(', ') || 'no keys'})`
}
