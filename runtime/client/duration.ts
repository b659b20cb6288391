import { dspError } from '../../schemas/errors/dspError.js'
import type { DurationInput } from './callOptions.js'

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Milliseconds of a {@link DurationInput}; throws DSP2101 naming `what` when it is not one. */
export function toMilliseconds(value: DurationInput, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
  } else {
    const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/.exec(value)
    if (m) return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
  }
  throw dspError('DSP2101', `${what}: ${JSON.stringify(value)} is not a duration`, {
    hint: "use milliseconds (a number >= 0) or a string like '500ms', '10s', '5m', '2h', '1d'",
  })
}

/** A proto3 JSON `Duration` (`"1.5s"`) from milliseconds. */
export function toProtoDuration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`
}

/** Milliseconds of a proto3 JSON `Duration` (`"1.5s"`), unchecked: see {@link checkProtoDuration}. */
export function fromProtoDuration(value: string): number {
  return Number(value.slice(0, -1)) * 1000
}

/**
 * The longest Duration the scheduler accepts anywhere (a delay, an expiration, a Poll's wait, a Wait
 * timeout): 3650 days. Every instant computed from one then stays far inside what a `Date`, an
 * RFC 3339 timestamp and both stores (integer milliseconds) can hold.
 */
export const MAX_DURATION_MS = 3650 * 86_400_000

/** The earliest and latest instants a Timestamp may name: RFC 3339's four-digit years, as in proto3. */
export const MIN_TIMESTAMP_MS = Date.parse('0001-01-01T00:00:00.000Z')
export const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z')

/** A range-checked conversion: the milliseconds, or what is wrong with the value (to put in an error). */
export type Checked = { readonly ms: number; readonly problem?: undefined } | { readonly problem: string }

/**
 * Whole milliseconds of a proto3 JSON `Duration` (`"1.5s"`; sub-millisecond digits are rounded, so
 * every store holds the same value), when it lies within `minMs`..{@link MAX_DURATION_MS}.
 */
export function checkProtoDuration(value: string, minMs = 0): Checked {
  const seconds = /^-?[0-9]+(\.[0-9]+)?s$/.test(value) ? Number(value.slice(0, -1)) : Number.NaN
  const ms = Math.round(seconds * 1000)
  if (!Number.isFinite(seconds))
    return { problem: `${JSON.stringify(value).slice(0, 40)} is not a Duration like "1.5s"` }
  const allowed = `allowed ${toProtoDuration(minMs)} to ${toProtoDuration(MAX_DURATION_MS)} (3650 days)`
  const shown = JSON.stringify(value).slice(0, 40)
  if (seconds < 0 || ms < minMs) {
    return { problem: `${minMs > 0 ? 'must be positive' : 'must not be negative'} (${shown}): ${allowed}` }
  }
  if (ms > MAX_DURATION_MS) return { problem: `${shown} is out of range: ${allowed}` }
  return { ms: ms + 0 } // never -0
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, when it names an instant in years 0001 to 9999. */
export function checkTimestamp(value: string): Checked {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) return { problem: `${JSON.stringify(value).slice(0, 60)} is not an RFC 3339 timestamp` }
  if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) {
    return {
      problem: `${JSON.stringify(value).slice(0, 60)} is out of range: allowed ${new Date(MIN_TIMESTAMP_MS).toISOString()} to ${new Date(MAX_TIMESTAMP_MS).toISOString()}`,
    }
  }
  return { ms }
}

/**
 * An instant as an RFC 3339 timestamp, clamped into the years 0001 to 9999: never throws, so a value
 * stored by an older version (out of a Date's range) still reads.
 */
export function toTimestamp(ms: number): string {
  const at = Number.isNaN(ms) ? 0 : Math.min(MAX_TIMESTAMP_MS, Math.max(MIN_TIMESTAMP_MS, ms))
  return new Date(at).toISOString()
}
