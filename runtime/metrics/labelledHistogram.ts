import type { MetricSample, MetricSnapshot, RegistryMetric } from './metricsRegistry.js'

/** One label value's observations: counts per bucket (not cumulative), their sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length)
  }

  observe(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    if (i < bounds.length) this.counts[i]!++
    this.sum += value
    this.count++
  }

  reset(): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }
}

/**
 * A histogram with one label: an observation is a bucket search and three additions, without
 * label hashing; rendered as Prometheus histogram samples (`_bucket` with `le`, `_sum`, `_count`).
 */
export class LabelledHistogram implements RegistryMetric {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly series = new Map<string, HistogramSeries>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
  ) {}

  /** The series of one label value (created on first use); keep it to observe without a look-up. */
  labels(value: string): HistogramSeries {
    let series = this.series.get(value)
    if (series === undefined) {
      series = new HistogramSeries(this.bounds)
      this.series.set(value, series)
    }
    return series
  }

  get(): MetricSnapshot {
    const values: MetricSample[] = []
    const bucket = `${this.name}_bucket`
    for (const [label, series] of this.series) {
      let cumulative = 0
      for (const [i, bound] of this.bounds.entries()) {
        cumulative += series.counts[i]!
        values.push({ labels: { [this.labelName]: label, le: bound }, value: cumulative, metricName: bucket })
      }
      values.push({ labels: { [this.labelName]: label, le: '+Inf' }, value: series.count, metricName: bucket })
      values.push({ labels: { [this.labelName]: label }, value: series.sum, metricName: `${this.name}_sum` })
      values.push({ labels: { [this.labelName]: label }, value: series.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    for (const series of this.series.values()) series.reset()
  }
}
