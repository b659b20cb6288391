import { describe, expect, it } from 'vitest'
import { formatStats } from '../../cli/formatStats.js'
import { formatSummary } from '../../cli/formatSummary.js'

describe('formatSummary (the live line of dispatch run)', () => {
  it('says so when there are no calls', () => {
    expect(formatSummary([])).toBe('no calls yet')
  })

  it('counts per function (sorted by name) and state, named as the states are everywhere', () => {
    const line = formatSummary([
      { function: 'publish', state: 'pending', count: 3, retrying: 1 },
      { function: 'publish', state: 'running', count: 2, retrying: 0 },
      { function: 'publish', state: 'succeeded', count: 290, retrying: 0 },
      { function: 'publish', state: 'failed', count: 4, retrying: 0 },
      { function: 'publish', state: 'cancelled', count: 1, retrying: 0 },
      { function: 'charge', state: 'suspended', count: 5, retrying: 0 },
    ])
    expect(line).toBe(
      'charge: 0 pending, 0 running, 5 suspended, 0 succeeded, 0 failed | publish: 3 pending (1 retrying), 2 running, 290 succeeded, 4 failed, 1 cancelled',
    )
  })

  it("adds each endpoint's attempts in flight, adaptive limit and bounds", () => {
    const line = formatSummary(
      [{ function: 'publish', state: 'running', count: 5, retrying: 0 }],
      [{ endpoint: 'http://127.0.0.1:8000', limit: 12, min: 1, max: 100, inFlight: 5 }],
    )
    expect(line).toBe(
      'publish: 0 pending, 5 running, 0 succeeded, 0 failed | endpoint http://127.0.0.1:8000: 5 in flight, limit 12 (bounds 1-100)',
    )
  })
})

describe('formatStats (dispatch calls stats)', () => {
  it('lists calls, endpoints sorted by origin, and the load', () => {
    const text = formatStats({
      calls: [{ function: 'publish', state: 'pending', count: 3, retrying: 1 }],
      endpoints: [
        { endpoint: 'http://b.test', limit: 4, min: 1, max: 8, inFlight: 4 },
        { endpoint: 'http://a.test', limit: 32, min: 1, max: 100, inFlight: 0 },
      ],
      inFlight: 4,
      unfinishedCalls: 7,
      queuedCalls: 0,
    })
    expect(text).toBe(
      [
        'calls:',
        '  publish: 3 pending (1 retrying), 0 running, 0 succeeded, 0 failed',
        'endpoints (adaptive concurrency):',
        '  http://a.test: 0 in flight, limit 32 (bounds 1-100)',
        '  http://b.test: 4 in flight, limit 4 (bounds 1-8)',
        'load: 4 attempts in flight, 7 unfinished calls, 0 awaiting commit',
        '',
      ].join('\n'),
    )
  })

  it('says when nothing was delivered yet and leaves out counts that are turned off', () => {
    expect(formatStats({ calls: [], endpoints: [], inFlight: 0 })).toBe(
      'calls:\n  no calls yet\nendpoints (adaptive concurrency):\n  none delivered to yet (or adaptive concurrency is off)\nload: 0 attempts in flight\n',
    )
  })
})
