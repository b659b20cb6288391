/** One sample of a metric as a registry renders it: its labels and value (`metricName` for a histogram's parts). */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string | number>>
  readonly value: number
  readonly metricName?: string
}

/** What a registry reads from a metric when it is scraped. */
export interface MetricSnapshot {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly aggregator: 'sum'
  readonly values: MetricSample[]
}

/**
 * A metric as a Prometheus registry holds it: the shape prom-client's `Registry` renders (any
 * object with a name, help, type and `get()`), so the runtime keeps its own counters without
 * depending on prom-client.
 */
export interface RegistryMetric {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly aggregator: 'sum'
  get(): MetricSnapshot
  reset(): void
}

/**
 * Where an endpoint registers its metrics: a prom-client `Registry` (`new Registry()`, or its
 * global `register`), or anything with the same `registerMetric` that renders {@link RegistryMetric}s.
 */
export interface MetricsRegistry {
  /**
   * Receives each {@link RegistryMetric} once. Typed `never` because prom-client types its parameter
   * as its own metric classes, which it renders by the same shape.
   */
  registerMetric(metric: never): void
  /** prom-client's: whether a name is taken, checked before registering (optional). */
  getSingleMetric?(name: string): unknown
  /** prom-client's: undoes a registration when a later name is refused (optional). */
  removeSingleMetric?(name: string): void
}
