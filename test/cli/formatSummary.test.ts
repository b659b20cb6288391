import { describe, expect, it } from 'vitest'
import { formatSummary } from '../../cli/formatSummary.js'

describe('formatSummary (the live line of dispatch run)', () => {
  it('says so when there are no calls', () => {
    expect(formatSummary([])).toBe('no calls yet')
  })

  it('groups states per function, sorted by name', () => {
    const line = formatSummary([
      { function: 'publish', state: 'pending', count: 3, retrying: 1 },
      { function: 'publish', state: 'running', count: 2, retrying: 0 },
      { function: 'publish', state: 'succeeded', count: 290, retrying: 0 },
      { function: 'publish', state: 'failed', count: 4, retrying: 0 },
      { function: 'publish', state: 'cancelled', count: 1, retrying: 0 },
      { function: 'charge', state: 'suspended', count: 5, retrying: 0 },
    ])
    expect(line).toBe(
      'charge: 5 pending, 0 running, 0 done, 0 failed | publish: 3 pending (1 retrying), 2 running, 290 done, 5 failed',
    )
  })
})
