import type { MetricSample, MetricSnapshot, RegistryMetric } from './metricsRegistry.js'

/** One series of a counter or gauge: a number that callers change in place. */
export interface Series {
  value: number
}

/**
 * A counter or gauge with fixed label names, whose series are created on first use and kept by the
 * caller (an event adds to a field: no label hashing per event). Rendered by the registry on scrape.
 */
export class LabelledCounter implements RegistryMetric {
  readonly aggregator = 'sum'
  private readonly series = new Map<string, { labels: Record<string, string>; series: Series }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly labelNames: readonly string[],
    private readonly options: { readonly resettable?: boolean } = {},
  ) {}

  /** The series of these label values (in the order of the label names). */
  labels(...values: string[]): Series {
    const key = values.join('\u0000')
    let entry = this.series.get(key)
    if (entry === undefined) {
      const labels: Record<string, string> = {}
      for (const [i, name] of this.labelNames.entries()) labels[name] = values[i] ?? ''
      entry = { labels, series: { value: 0 } }
      this.series.set(key, entry)
    }
    return entry.series
  }

  get(): MetricSnapshot {
    const values: MetricSample[] = []
    for (const { labels, series } of this.series.values()) values.push({ labels, value: series.value })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** Zeroes every series, but for a gauge of what is in progress (`resettable: false`), which stays true. */
  reset(): void {
    if (this.options.resettable === false) return
    for (const { series } of this.series.values()) series.value = 0
  }
}
