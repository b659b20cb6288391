import type { Status } from 'dispatch-functions/protocol'

/** Bounds and steps of the per-endpoint concurrency limit (AIMD). */
export interface AdaptiveConcurrencyOptions {
  /** The limit never goes below this. Default 1. */
  readonly min?: number
  /** The limit never goes above this. Default: the scheduler's `concurrency`. */
  readonly max?: number
  /** Where a newly seen endpoint starts. Default min(max, 32). */
  readonly initial?: number
  /** On overload the limit is multiplied by this (0 < decrease < 1). Default 0.75. */
  readonly decrease?: number
}

export type ResolvedAdaptiveConcurrency = Required<AdaptiveConcurrencyOptions>

/** What one endpoint's limiter looks like now, for stats. */
export interface EndpointConcurrency {
  /** The endpoint origin (`http://host:port`). */
  readonly endpoint: string
  /** Attempts allowed in flight at once (rounded down). */
  readonly limit: number
  /** The bounds the limit moves within (`adaptiveConcurrency.min` / `max`). */
  readonly min: number
  readonly max: number
  readonly inFlight: number
}

/** Statuses that say the endpoint (or the way to it) is overloaded: back off. */
const OVERLOAD: ReadonlySet<Status> = new Set<Status>([
  'STATUS_THROTTLED',
  'STATUS_TIMEOUT',
  'STATUS_TCP_ERROR',
  'STATUS_DNS_ERROR',
  'STATUS_TLS_ERROR',
])

interface Limiter {
  limit: number
  inFlight: number
  /** Attempts started before this sequence number cannot cause another decrease. */
  decreasedAt: number
  /** Set on every use; {@link AdaptiveConcurrency.sweep} clears it, and drops the limiter if it was clear. */
  used: boolean
}

/**
 * One additive-increase/multiplicative-decrease limit per endpoint origin. A success while the limit
 * is in use adds 1/limit (about +1 per limit's worth of successes); an overload status multiplies it
 * by `decrease`, at most once per window: only an attempt started after the last decrease can cause
 * the next one, so a burst of 429s from one window halves nothing twice (as TCP does per RTT).
 */
export class AdaptiveConcurrency {
  private readonly limiters = new Map<string, Limiter>()
  private readonly origins = new Map<string, string>()
  private sequence = 0

  constructor(readonly options: ResolvedAdaptiveConcurrency) {}

  /** The origin an endpoint URL is limited under (the URL itself when it does not parse). */
  originOf(endpoint: string): string {
    let origin = this.origins.get(endpoint)
    if (origin === undefined) {
      try {
        origin = new URL(endpoint).origin
      } catch {
        origin = endpoint
      }
      if (this.origins.size > 10_000) this.origins.clear() // a cache, not a registry
      this.origins.set(endpoint, origin)
    }
    return origin
  }

  private limiter(origin: string): Limiter {
    let limiter = this.limiters.get(origin)
    if (limiter === undefined) {
      limiter = { limit: this.options.initial, inFlight: 0, decreasedAt: 0, used: true }
      this.limiters.set(origin, limiter)
    } else limiter.used = true
    return limiter
  }

  /** The limiters kept now (one per origin used recently or with attempts in flight). */
  get size(): number {
    return this.limiters.size
  }

  /**
   * Forgets the limits of origins with nothing in flight and no use since the previous sweep (one that
   * comes back starts again at `initial`); run it every idle period.
   */
  sweep(): number {
    // The endpoint → origin cache is rebuilt from what is still used: cheap, and it forgets the rest.
    this.origins.clear()
    let dropped = 0
    for (const [origin, limiter] of this.limiters) {
      if (limiter.inFlight > 0 || limiter.used) {
        limiter.used = false
        continue
      }
      this.limiters.delete(origin)
      dropped++
    }
    return dropped
  }

  /**
   * How many more attempts may start at this origin now: 0 until a quarter of its limit is free
   * (unless nothing is in flight), so that one claim transaction serves many attempts instead of
   * one commit per finished attempt.
   */
  available(origin: string): number {
    const limiter = this.limiter(origin)
    const limit = Math.floor(limiter.limit)
    const free = Math.max(0, limit - limiter.inFlight)
    return limiter.inFlight === 0 || free >= Math.max(1, Math.floor(limit / 4)) ? free : 0
  }

  /** An attempt starts; the token goes back with its outcome. */
  start(origin: string): number {
    this.limiter(origin).inFlight++
    return ++this.sequence
  }

  /** The attempt started with `token` ended with `status` (undefined: no answer, e.g. abandoned). */
  end(origin: string, token: number, status: Status | undefined): void {
    const limiter = this.limiter(origin)
    limiter.inFlight = Math.max(0, limiter.inFlight - 1)
    if (status === undefined) return
    const { min, max, decrease } = this.options
    if (OVERLOAD.has(status)) {
      if (token <= limiter.decreasedAt) return
      limiter.limit = Math.max(min, limiter.limit * decrease)
      limiter.decreasedAt = this.sequence
    } else if (limiter.inFlight + 1 >= limiter.limit / 2) {
      // Grow only while the limit is what holds attempts back; an idle endpoint keeps its limit.
      limiter.limit = Math.min(max, limiter.limit + 1 / Math.max(1, limiter.limit))
    }
  }

  snapshot(): EndpointConcurrency[] {
    const { min, max } = this.options
    return [...this.limiters].map(([endpoint, l]) => ({
      endpoint,
      limit: Math.floor(l.limit),
      min,
      max,
      inFlight: l.inFlight,
    }))
  }
}
