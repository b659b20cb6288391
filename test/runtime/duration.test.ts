import { describe, expect, it } from 'vitest'
import {
  checkProtoDuration,
  checkTimestamp,
  MAX_DURATION_MS,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  toTimestamp,
} from '../../schemas/duration.js'

describe('range-checked Durations and timestamps', () => {
  it.each([
    ['1.5s', 0, 1500],
    ['1.0001s', 0, 1000],
    ['0.0005s', 0, 1],
    ['0.0004s', 0, 0],
    ['315360000s', 0, MAX_DURATION_MS],
    ['0.001s', 1, 1],
  ])('%s (at least %i ms) is %i ms', (value, min, ms) => {
    expect(checkProtoDuration(value, min)).toEqual({ ms })
  })

  it.each([
    ['9000000000000s', /out of range: allowed 0s to 315360000s \(3650 days\)/],
    ['315360000.001s', /out of range/],
    [`${'9'.repeat(400)}s`, /not a Duration|out of range/],
    ['-1s', /must not be negative/],
    ['-0.0000001s', /must not be negative/],
    ['1e3s', /not a Duration/],
    ['', /not a Duration/],
  ])('refuses %s', (value, problem) => {
    expect(checkProtoDuration(value).problem).toMatch(problem)
  })

  it('refuses an expiration that rounds to 0 ms', () => {
    expect(checkProtoDuration('0.0004s', 1).problem).toMatch(/must be positive .*allowed 0.001s/)
  })

  it('takes timestamps of years 0001 to 9999 and refuses the others', () => {
    expect(checkTimestamp('0001-01-01T00:00:00Z')).toEqual({ ms: MIN_TIMESTAMP_MS })
    expect(checkTimestamp('9999-12-31T23:59:59.999Z')).toEqual({ ms: MAX_TIMESTAMP_MS })
    expect(checkTimestamp('0001-01-01T00:00:00+01:00').problem).toMatch(/out of range/)
    expect(checkTimestamp('9999-12-31T23:59:59-01:00').problem).toMatch(/out of range/)
    expect(checkTimestamp('soon').problem).toMatch(/not an RFC 3339 timestamp/)
  })

  it('writes any number of milliseconds as a timestamp, clamped into years 0001 to 9999', () => {
    expect(toTimestamp(0)).toBe('1970-01-01T00:00:00.000Z')
    expect(toTimestamp(9e15 + Date.now())).toBe('9999-12-31T23:59:59.999Z')
    expect(toTimestamp(Number.POSITIVE_INFINITY)).toBe('9999-12-31T23:59:59.999Z')
    expect(toTimestamp(-9e15)).toBe('0001-01-01T00:00:00.000Z')
    expect(toTimestamp(Number.NaN)).toBe('1970-01-01T00:00:00.000Z')
  })
})
