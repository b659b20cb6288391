import type { QueueKey, Store, StoredCall } from '../store/store.js'
import type { AdaptiveConcurrency } from './adaptiveConcurrency.js'
import type { ClaimSelector } from './claimSelector.js'

export interface CappedClaimsOptions {
  readonly owner: string
  readonly leaseMs: number
  /** Claims per store transaction. */
  readonly batchSize: number
  /** Per-endpoint limits: capped calls take no more than the tightest endpoint of capped calls has room for. */
  readonly limits?: AdaptiveConcurrency | undefined
  /** Look for capped calls at least this often, in ms of the scheduler's clock (other nodes freed a slot). */
  readonly probeEveryMs?: number
}

/**
 * Per-key concurrency (docs/flow-control.md) on top of another selector: the calls of functions with
 * a concurrency limit are passed over by ordinary claims and taken here, by `Store.claimCapped`, which
 * counts each key's running calls across nodes. It asks the store only when capped work may be
 * waiting — capped calls were dispatched, a capped attempt ended, the last probe found some — or
 * every `probeEveryMs`: a scheduler whose functions declare no limit pays one cheap probe of an
 * empty index that often, nothing per claim.
 */
export class CappedClaims implements ClaimSelector {
  private lastProbe = Number.NEGATIVE_INFINITY
  private wanted = true
  private readonly origins = new Set<string>()
  /** This node has claimed rate-limited calls: after a short claim, ask when a period next ends. */
  private rated = false
  /** When a start of a rate-limited call leaves its period: a key may have room then. */
  private nextOpening = Number.POSITIVE_INFINITY

  constructor(
    private readonly inner: ClaimSelector,
    private readonly store: Store,
    private readonly options: CappedClaimsOptions,
  ) {}

  /** Another node's work (a notification) is found by the periodic probe: only this node's capped dispatches ask now. */
  notice(queues?: readonly QueueKey[], capped?: boolean): void {
    this.inner.notice?.(queues, capped)
    if (capped === true) this.wanted = true
  }

  /** A capped call's attempt ended: its key may have room now. */
  slotFreed(): void {
    this.wanted = true
  }

  async claim(now: number, capacity: number): Promise<StoredCall[]> {
    const calls = await this.inner.claim(now, capacity)
    const claimCapped = this.store.claimCapped
    if (claimCapped === undefined) return calls
    let room = Math.min(capacity - calls.length, this.options.batchSize)
    if (now >= this.nextOpening) {
      this.wanted = true
      this.nextOpening = Number.POSITIVE_INFINITY
    }
    if (room <= 0 || (!this.wanted && now - this.lastProbe < (this.options.probeEveryMs ?? 250))) return calls
    const limits = this.options.limits
    if (limits !== undefined) for (const origin of this.origins) room = Math.min(room, limits.available(origin))
    if (room <= 0) return calls
    this.wanted = false
    this.lastProbe = now
    const capped = await claimCapped.call(this.store, {
      now,
      limit: room,
      owner: this.options.owner,
      leaseMs: this.options.leaseMs,
    })
    if (capped.some((call) => call.rateLimit !== undefined)) this.rated = true
    // A rate-limited call waiting for its period is taken as soon as the period ends, rather than at
    // the next periodic probe: that lag, once per period, would keep the rate under its limit.
    if (capped.length < room && this.rated && this.store.nextRateOpening !== undefined) {
      this.nextOpening = (await this.store.nextRateOpening(now)) ?? Number.POSITIVE_INFINITY
    }
    if (capped.length === 0) return calls
    // More may be waiting behind a full batch; and their endpoints' room bounds the next claims.
    this.wanted = capped.length === room
    if (limits !== undefined) for (const call of capped) this.origins.add(limits.originOf(call.endpoint))
    return calls.concat(capped)
  }
}
