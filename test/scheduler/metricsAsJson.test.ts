import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { metricsAsJson } from '../../scheduler/metrics/metricsAsJson.js'

// The dashboard's overview reads the scheduler's exposition back with metricsAsJson: it must give
// what prom-client's own getMetricsAsJSON gives for the same metrics (label values as text).
describe('metricsAsJson', () => {
  it("reads an exposition into the families prom-client's getMetricsAsJSON gives", async () => {
    const registry = new Registry()
    const counter = new Counter({
      name: 'dispatch_t_total',
      help: 'h',
      labelNames: ['function', 'status'],
      registers: [registry],
    })
    counter.inc({ function: 'f "quoted" \\ back\nline', status: 'STATUS_OK' }, 3)
    counter.inc({ function: 'g', status: 'STATUS_TIMEOUT' })
    const gauge = new Gauge({ name: 'dispatch_g', help: 'h', registers: [registry] })
    gauge.set(-1.5)
    const histogram = new Histogram({
      name: 'dispatch_h_seconds',
      help: 'h',
      labelNames: ['function'],
      buckets: [0.1, 1],
      registers: [registry],
    })
    histogram.observe({ function: 'f' }, 0.5)
    histogram.observe({ function: 'f' }, 2)

    const expected = (await registry.getMetricsAsJSON()).map((family) => ({
      name: family.name,
      type: String(family.type),
      values: family.values.map((v) => ({
        value: v.value,
        labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])),
        ...('metricName' in v && v.metricName !== undefined && v.metricName !== family.name
          ? { metricName: v.metricName }
          : {}),
      })),
    }))
    expect(metricsAsJson(await registry.metrics())).toEqual(expected)
  })

  it('skips lines it cannot read and keeps samples without a TYPE line', () => {
    expect(metricsAsJson('garbage\n# HELP x y\nx_total 2\n')).toEqual([
      { name: 'x_total', type: 'untyped', values: [{ value: 2, labels: {} }] },
    ])
  })
})
