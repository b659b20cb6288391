import { html } from './html.js'

const W = 480
const H = 120

/** A small SVG line chart of (time, value) points; no library needed for two series. */
export function LineChart(props: { points: readonly [number, number][]; label: string; unit: string; max?: number }) {
  const { points } = props
  if (points.length < 2) return html`<div class="chart empty">${props.label}: collecting…</div>`
  const t0 = points[0]![0]
  const t1 = points[points.length - 1]![0]
  const top = Math.max(props.max ?? 0, ...points.map((p) => p[1]), 1e-9)
  const x = (t: number) => ((t - t0) / Math.max(1, t1 - t0)) * W
  const y = (v: number) => H - (v / top) * (H - 10)
  const line = points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
  const last = points[points.length - 1]![1]
  return html`<figure class="chart">
    <figcaption>${props.label}: <strong>${last.toFixed(1)} ${props.unit}</strong> (max ${top.toFixed(1)})</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${props.label}>
      <polyline points=${line} fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke" />
    </svg>
  </figure>`
}
