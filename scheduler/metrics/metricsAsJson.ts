/** One metric family of a Prometheus text exposition, in the shape of prom-client's `getMetricsAsJSON`. */
export interface MetricFamilyJson {
  readonly name: string
  readonly type: string
  readonly values: { value: number; labels: Record<string, string>; metricName?: string }[]
}

// `name{a="x",b="y"} value` (labels optional); label values escape \\, \" and \n (the text format).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/**
 * Reads the scheduler's own exposition back into families, for the dashboard's overview: the
 * scheduler renders its metrics as text (cheaper per scrape than a registry), and this is the one
 * reader of that text, so it needs only the text format's sample lines and `# TYPE` lines.
 */
export function metricsAsJson(text: string): MetricFamilyJson[] {
  const families: MetricFamilyJson[] = []
  let family: MetricFamilyJson | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name = '', type = 'untyped'] = line.slice(7).split(' ')
      family = { name, type, values: [] }
      families.push(family)
      continue
    }
    if (line === '' || line.startsWith('#')) continue
    const sample = SAMPLE.exec(line)
    if (sample === null) continue
    const [, sampleName = '', labelText = '', valueText = ''] = sample
    if (family === undefined || !sampleName.startsWith(family.name)) {
      family = { name: sampleName, type: 'untyped', values: [] }
      families.push(family)
    }
    const labels: Record<string, string> = {}
    for (const [, label = '', value = ''] of labelText.matchAll(LABEL)) {
      labels[label] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    const value = Number(valueText)
    family.values.push(sampleName === family.name ? { value, labels } : { value, labels, metricName: sampleName })
  }
  return families
}
