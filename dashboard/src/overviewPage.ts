import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, api, type Overview } from './api.js'
import { duration, STATES } from './format.js'
import { html } from './html.js'
import { LineChart } from './lineChart.js'
import { attemptTotals, latencyByFunction, valuesOf } from './overviewMath.js'

const EVERY_MS = 2000
/** Points kept per chart: ten minutes at one every two seconds. */
const KEEP = 300

const ms = (s: number | undefined) =>
  s === undefined ? '-' : s === Number.POSITIVE_INFINITY ? '> 300 s' : duration(s * 1000)

/**
 * Throughput and failure rate over time (from the attempt counters, sampled while the page is open),
 * per-function latency, queue depth, adaptive limits and the calls by state.
 */
export function OverviewPage() {
  const [overview, setOverview] = useState<Overview | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const samples = useRef<{ t: number; total: number; failed: number }[]>([])
  useEffect(() => {
    const load = async () => {
      try {
        const o = await api.overview()
        const totals = attemptTotals(o.metrics)
        samples.current = [...samples.current, { t: Date.parse(o.now), ...totals }].slice(-KEEP - 1)
        setOverview(o)
        setError(undefined)
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) setError((e as Error).message)
      }
    }
    void load()
    const timer = setInterval(() => void load(), EVERY_MS)
    return () => clearInterval(timer)
  }, [])
  if (overview === undefined) return error === undefined ? html`<p>Loading…</p>` : html`<p class="error">${error}</p>`

  const s = samples.current
  const throughput: [number, number][] = []
  const failureRate: [number, number][] = []
  for (let i = 1; i < s.length; i++) {
    const dt = (s[i]!.t - s[i - 1]!.t) / 1000
    const attempts = s[i]!.total - s[i - 1]!.total
    if (dt <= 0 || attempts < 0) continue
    throughput.push([s[i]!.t, attempts / dt])
    failureRate.push([s[i]!.t, attempts === 0 ? 0 : ((s[i]!.failed - s[i - 1]!.failed) / attempts) * 100])
  }
  const counts = new Map<string, Map<string, number>>()
  for (const c of overview.stats.calls) {
    const row = counts.get(c.function) ?? new Map<string, number>()
    row.set(c.state, c.count)
    counts.set(c.function, row)
  }
  const queues = valuesOf(overview.metrics, 'dispatch_queue_due_calls')
  const latency = latencyByFunction(overview.metrics)

  return html`<section class="overview">
    ${error === undefined ? null : html`<p class="error">${error}</p>`}
    ${overview.metricsOn ? null : html`<p class="notice">Metrics are off on this scheduler: only the counts from the store are shown.</p>`}
    <div class="charts">
      <${LineChart} points=${throughput} label="Attempts per second" unit="/s" />
      <${LineChart} points=${failureRate} label="Failed attempts" unit="%" max=${100} />
    </div>
    <h3>Calls by state</h3>
    <table data-testid="counts">
      <thead><tr><th>Function</th>${STATES.map((st) => html`<th>${st}</th>`)}</tr></thead>
      <tbody>
        ${[...counts.entries()].map(
          ([fn, row]) => html`<tr><td>${fn}</td>${STATES.map((st) => html`<td>${row.get(st) ?? 0}</td>`)}</tr>`,
        )}
      </tbody>
    </table>
    <h3>Attempt latency per function (since the scheduler started)</h3>
    <table>
      <thead><tr><th>Function</th><th>Attempts</th><th>Mean</th><th>p50 ≤</th><th>p95 ≤</th></tr></thead>
      <tbody>
        ${latency.map((l) => html`<tr><td>${l.fn}</td><td>${l.count}</td><td>${ms(l.meanS)}</td><td>${ms(l.p50S)}</td><td>${ms(l.p95S)}</td></tr>`)}
      </tbody>
    </table>
    <h3>Queue depth (calls due now)</h3>
    ${
      queues.length === 0
        ? html`<p class="hint">No call is due now.</p>`
        : html`<table>
            <thead><tr><th>Endpoint</th><th>Function</th><th>Fairness key</th><th>Due</th></tr></thead>
            <tbody>${queues.map((q) => html`<tr><td>${q.labels['endpoint']}</td><td>${q.labels['function']}</td><td>${q.labels['fairness_key'] ?? ''}</td><td>${q.value}</td></tr>`)}</tbody>
          </table>`
    }
    <h3>Adaptive concurrency per endpoint</h3>
    ${
      overview.stats.endpoints.length === 0
        ? html`<p class="hint">No endpoint called yet (or adaptive concurrency is off). In flight: ${overview.stats.inFlight}.</p>`
        : html`<table>
            <thead><tr><th>Endpoint</th><th>Limit</th><th>In flight</th><th>Min</th><th>Max</th></tr></thead>
            <tbody>${overview.stats.endpoints.map((e) => html`<tr><td>${e.endpoint}</td><td>${e.limit}</td><td>${e.inFlight}</td><td>${e.min}</td><td>${e.max}</td></tr>`)}</tbody>
          </table>`
    }
  </section>`
}
