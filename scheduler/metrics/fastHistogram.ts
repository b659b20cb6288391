import { header, labelText, numberText } from './exposition.js'

/** One label value's observations: counts per bucket (not cumulative), their sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(
    private readonly bounds: readonly number[],
    /** The rendered start of each line: one per bucket, then +Inf, _sum and _count. */
    readonly lines: readonly string[],
  ) {
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
 * which costs more than the rest of the metrics of a call together), and each series keeps its
 * lines' label text, so a scrape only adds numbers to them.
 */
export class FastHistogram {
  private readonly series = new Map<string, HistogramSeries>()
  private readonly head: string

  constructor(
    private readonly name: string,
    help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
  ) {
    this.head = header(name, help, 'histogram')
  }

  /** The series of one label value (created on first use); keep it to observe without a look-up. */
  labels(value: string): HistogramSeries {
    let series = this.series.get(value)
    if (series === undefined) {
      const label = [this.labelName, value] as const
      const bucket = (le: string) => `${this.name}_bucket${labelText([label, ['le', le]])} `
      const lines = [
        ...this.bounds.map((bound) => bucket(numberText(bound))),
        bucket('+Inf'),
        `${this.name}_sum${labelText([label])} `,
        `${this.name}_count${labelText([label])} `,
      ]
      series = new HistogramSeries(this.bounds, lines)
      this.series.set(value, series)
    }
    return series
  }

  render(): string {
    let text = this.head
    const n = this.bounds.length
    for (const series of this.series.values()) {
      const { lines, counts } = series
      let cumulative = 0
      for (let i = 0; i < n; i++) {
        cumulative += counts[i]!
        text += `${lines[i]}${cumulative}\n`
      }
      text += `${lines[n]}${series.count}\n${lines[n + 1]}${numberText(series.sum)}\n${lines[n + 2]}${series.count}\n`
    }
    return text
  }
}
