import type { Registry } from 'prom-client'

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
}

/**
 * A histogram with one label, for the per-attempt hot path: an observation is a bucket search and
 * three additions (prom-client's Histogram validates and hashes its labels on every observation,
 * which costs more than the rest of the metrics of a call together). It renders as a prom-client
 * histogram: the registry reads any object with a name, help, type and `get()`.
 */
export class FastHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly series = new Map<string, HistogramSeries>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never)
  }

  /** The series of one label value (created on first use); keep it to observe without a look-up. */
  labels(value: string): HistogramSeries {
    let series = this.series.get(value)
    if (series === undefined) {
      series = new HistogramSeries(this.bounds)
      this.series.set(value, series)
    }
    return series
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: object[] } {
    const values: object[] = []
    for (const [label, series] of this.series) {
      let cumulative = 0
      for (const [i, bound] of this.bounds.entries()) {
        cumulative += series.counts[i]!
        values.push({
          labels: { [this.labelName]: label, le: bound },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        })
      }
      values.push({
        labels: { [this.labelName]: label, le: '+Inf' },
        value: series.count,
        metricName: `${this.name}_bucket`,
      })
      values.push({ labels: { [this.labelName]: label }, value: series.sum, metricName: `${this.name}_sum` })
      values.push({ labels: { [this.labelName]: label }, value: series.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.series.clear()
  }
}
