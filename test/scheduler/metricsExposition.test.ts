import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { FastHistogram } from '../../scheduler/metrics/fastHistogram.js'
import { TextCounter } from '../../scheduler/metrics/textCounter.js'

// The scheduler renders its own metrics (series keep their label text); what it renders must be
// what prom-client renders for the same metrics, hostile label values included.

const hostile = 'a "quoted" \\ back\nslash'

async function promText(build: (registry: Registry) => void): Promise<string> {
  const registry = new Registry()
  build(registry)
  return registry.metrics()
}

/** Samples as a set of lines, label order normalised (Prometheus does not care about it). */
function samples(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const match = /^([^{ ]+)(?:\{(.*)\})? (.*)$/.exec(line)
      if (match === null || line.startsWith('#')) return line
      const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`)
      return `${match[1]}{${labels.sort().join(',')}} ${match[3]}`
    })
    .sort()
}

describe('the scheduler metrics exposition', () => {
  it('renders a counter as prom-client does, escaping label values', async () => {
    const mine = new TextCounter('x_total', 'Help with a \\ and a\nnewline.', 'counter', ['function', 'status'])
    mine.labels(hostile, 'STATUS_OK').value += 3
    mine.labels('plain', 'STATUS_OK').value++
    const theirs = await promText((registry) => {
      const counter = new Counter({
        name: 'x_total',
        help: 'Help with a \\ and a\nnewline.',
        labelNames: ['function', 'status'],
        registers: [registry],
      })
      counter.inc({ function: hostile, status: 'STATUS_OK' }, 3)
      counter.inc({ function: 'plain', status: 'STATUS_OK' })
    })
    expect(`${mine.render()}`).toBe(theirs)
  })

  it('renders a histogram as prom-client does', async () => {
    const buckets = [0.001, 0.01, 0.1, 1]
    const mine = new FastHistogram('h_seconds', 'How long.', 'function', buckets)
    const theirs = await promText((registry) => {
      const histogram = new Histogram({
        name: 'h_seconds',
        help: 'How long.',
        labelNames: ['function'],
        buckets,
        registers: [registry],
      })
      for (const [fn, value] of [
        ['f', 0.0005],
        ['f', 0.05],
        ['f', 7],
        [hostile, 0.01],
      ] as const) {
        histogram.observe({ function: fn }, value)
        mine.labels(fn).observe(value)
      }
    })
    expect(samples(mine.render())).toEqual(samples(theirs))
  })
})
