import { header, labelText, numberText } from './exposition.js'

/** One series of a counter or gauge: callers change `value` in place. */
export interface TextSeries {
  value: number
}

/**
 * A counter or gauge with fixed label names whose series keep their rendered label text: an event
 * adds to a field (no label hashing), a scrape joins strings.
 */
export class TextCounter {
  private readonly series = new Map<string, { line: string; series: TextSeries }>()
  private readonly head: string

  constructor(
    private readonly name: string,
    help: string,
    type: 'counter' | 'gauge',
    private readonly labelNames: readonly string[],
  ) {
    this.head = header(name, help, type)
  }

  /** The series of these label values (in the order of the label names), created at first use. */
  labels(...values: string[]): TextSeries {
    const key = values.join('\u0000')
    let entry = this.series.get(key)
    if (entry === undefined) {
      const labels = this.labelNames.map((name, i) => [name, values[i] ?? ''] as const)
      entry = { line: `${this.name}${labelText(labels)} `, series: { value: 0 } }
      this.series.set(key, entry)
    }
    return entry.series
  }

  render(): string {
    let text = this.head
    for (const { line, series } of this.series.values()) text += `${line}${numberText(series.value)}\n`
    return text
  }
}
