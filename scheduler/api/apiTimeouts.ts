import { type DispatchError, dspError } from 'dispatch-functions/protocol'

/** The longest a Wait request is answered after (the CallService's long poll). */
export const MAX_WAIT_MS = 300_000

/**
 * Deadlines of the API's connections, so that slow or stalled clients cannot hold sockets. The
 * request deadlines cover receiving a request only: a Wait answered after up to 5 minutes is not cut.
 */
export interface ApiTimeouts {
  /** The request line and headers must arrive within this, in ms, of the first byte. Default 10000. */
  readonly headersMs?: number
  /**
   * The whole request (headers and body) must arrive within this, in ms; the answer may take longer.
   * Must be >= `headersMs`. Default 60000.
   */
  readonly requestMs?: number
  /** A keep-alive connection with no request is closed after this, in ms. Default 30000. */
  readonly keepAliveMs?: number
  /**
   * A connection on which nothing is sent or received for this long, in ms, is closed (e.g. a client
   * that stops reading its answer). 0 turns it off; otherwise it must exceed 300000 (the longest Wait).
   * Default 360000.
   */
  readonly idleMs?: number
}

export type ResolvedApiTimeouts = Required<ApiTimeouts>

export const DEFAULT_API_TIMEOUTS: ResolvedApiTimeouts = {
  headersMs: 10_000,
  requestMs: 60_000,
  keepAliveMs: 30_000,
  idleMs: 360_000,
}

function outOfRange(name: string, value: number, hint: string): DispatchError {
  return dspError('DSP3020', `the scheduler option apiTimeouts.${name} is ${value}`, { hint })
}

/** The API's deadlines with defaults filled in; throws DSP3020 naming an option that is out of range. */
export function resolveApiTimeouts(option: ApiTimeouts | undefined): ResolvedApiTimeouts {
  const t = {
    ...DEFAULT_API_TIMEOUTS,
    ...Object.fromEntries(Object.entries(option ?? {}).filter(([, v]) => v !== undefined)),
  }
  for (const name of ['headersMs', 'requestMs', 'keepAliveMs'] as const) {
    const v = t[name]
    if (!(Number.isInteger(v) && v >= 1)) {
      throw outOfRange(name, v, 'pass a whole number of milliseconds >= 1 (a deadline cannot be turned off)')
    }
  }
  if (t.headersMs > t.requestMs) {
    throw outOfRange('headersMs', t.headersMs, `it must not exceed apiTimeouts.requestMs (${t.requestMs})`)
  }
  if (!(Number.isInteger(t.idleMs) && (t.idleMs === 0 || t.idleMs > MAX_WAIT_MS))) {
    throw outOfRange('idleMs', t.idleMs, `pass 0 (off) or a whole number of milliseconds > ${MAX_WAIT_MS}`)
  }
  return t
}
