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
