import type { MetricJson } from './api.js'

/** The figures the overview draws, computed from the scheduler's metrics registry. */

export const valuesOf = (metrics: readonly MetricJson[], name: string) =>
  metrics.find((m) => m.name === name)?.values ?? []

/** Attempts ended so far, and those that failed (any status but OK), summed over functions. */
export function attemptTotals(metrics: readonly MetricJson[]): { total: number; failed: number } {
  let total = 0
  let failed = 0
  for (const v of valuesOf(metrics, 'dispatch_attempts_total')) {
    total += v.value
    if (v.labels['status'] !== 'STATUS_OK') failed += v.value
  }
  return { total, failed }
}

/** The q-quantile of a cumulative histogram's buckets (the upper bound of the bucket it falls in). */
export function quantile(buckets: readonly { le: number; count: number }[], q: number): number | undefined {
  const total = buckets[buckets.length - 1]?.count ?? 0
  if (total === 0) return undefined
  const rank = q * total
  for (const b of buckets) if (b.count >= rank) return b.le
  return undefined
}

export interface FunctionLatency {
  readonly fn: string
  readonly count: number
  readonly meanS: number
  readonly p50S: number | undefined
  readonly p95S: number | undefined
}

/** Per function: attempts measured, mean, p50 and p95 of `dispatch_attempt_duration_seconds` since start. */
export function latencyByFunction(metrics: readonly MetricJson[]): FunctionLatency[] {
  const byFn = new Map<string, { buckets: { le: number; count: number }[]; sum: number; count: number }>()
  for (const v of valuesOf(metrics, 'dispatch_attempt_duration_seconds')) {
    const fn = String(v.labels['function'])
    const entry = byFn.get(fn) ?? { buckets: [], sum: 0, count: 0 }
    byFn.set(fn, entry)
    if (v.metricName?.endsWith('_bucket')) {
      const le = v.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels['le'])
      entry.buckets.push({ le, count: v.value })
    } else if (v.metricName?.endsWith('_sum')) entry.sum = v.value
    else if (v.metricName?.endsWith('_count')) entry.count = v.value
  }
  return [...byFn.entries()]
    .map(([fn, e]) => {
      const buckets = e.buckets.sort((a, b) => a.le - b.le)
      return {
        fn,
        count: e.count,
        meanS: e.count === 0 ? 0 : e.sum / e.count,
        p50S: quantile(buckets, 0.5),
        p95S: quantile(buckets, 0.95),
      }
    })
    .sort((a, b) => a.fn.localeCompare(b.fn))
}
