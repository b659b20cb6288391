import type { CappedTurn, QueueKey, Store, StoredCall } from '../store/store.js'
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
  /**
   * Called when a rate limit's period next lets a start through (the delivery loop's wake): the
   * waiting calls start as the window opens, not at the loop's next turn.
   */
  readonly wake?: (() => void) | undefined
  /** The scheduler's clock, read when the wake-up is set (the claim before it may have taken a while). */
  readonly now?: (() => number) | undefined
  /** Shares by fairness key, relative to 1, as for calls without limits (`fairness.weights`). */
  readonly weights?: Readonly<Record<string, number>> | undefined
}

const queueId = (q: QueueKey): string => JSON.stringify([q.endpoint, q.function, q.fairnessKey ?? null])

/**
 * Per-key concurrency (docs/flow-control.md) on top of another selector: the calls of functions with
 * a concurrency limit are passed over by ordinary claims and taken here, by `Store.claimCapped`, which
 * counts each key's running calls across nodes. It asks the store only when capped work may be
 * waiting — capped calls were dispatched, a capped attempt ended, the last probe found some — or
 * every `probeEveryMs`: a scheduler whose functions declare no limit pays one cheap probe of an
 * empty index that often, nothing per claim. Rate limits: when a period next opens it wakes the
 * delivery loop (`wake`). Fairness: the queues waiting on one key take turns, kept here and handed
 * to each claim (`CappedClaimRequest.turns`).
 */
export class CappedClaims implements ClaimSelector {
  private lastProbe = Number.NEGATIVE_INFINITY
  private wanted = true
  private readonly origins = new Set<string>()
  /**
   * This node has claimed rate-limited calls (or, undefined, does not know yet: a restarted node may
   * find the periods of its earlier starts still running): after a short claim, ask when a period ends.
   */
  private rated: boolean | undefined
  /** When a start of a rate-limited call leaves its period: a key may have room then. */
  private nextOpening = Number.POSITIVE_INFINITY
  private openingTimer: ReturnType<typeof setTimeout> | undefined
  /**
   * Fair turns among the queues waiting on one key (start-time fair queuing, the capped calls'
   * counterpart of deficit round robin): `virtual` is the place of the last call served, and each
   * queue served since ends at `finish` — its next call starts there, behind the queues served less.
   */
  private virtual = 0
  private readonly finish = new Map<string, { readonly queue: QueueKey; at: number }>()
  private readonly costs: Readonly<Record<string, number>>

  constructor(
    private readonly inner: ClaimSelector,
    private readonly store: Store,
    private readonly options: CappedClaimsOptions,
  ) {
    const costs: Record<string, number> = {}
    for (const [key, weight] of Object.entries(options.weights ?? {})) if (weight > 0) costs[key] = 1 / weight
    this.costs = costs
  }

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
    const turns = this.turns()
    const capped = await claimCapped.call(this.store, {
      now,
      limit: room,
      owner: this.options.owner,
      leaseMs: this.options.leaseMs,
      turns,
      costs: this.costs,
    })
    this.served(capped, turns)
    if (capped.some((call) => call.rateLimit !== undefined)) this.rated = true
    // A rate-limited call waiting for its period is taken as soon as the period ends, rather than at
    // the next periodic probe: that lag, once per period, would keep the rate under its limit.
    if (capped.length < room && this.rated !== false && this.store.nextRateOpening !== undefined) {
      const opening = await this.store.nextRateOpening(now)
      this.rated ||= opening !== undefined
      this.nextOpening = opening ?? Number.POSITIVE_INFINITY
      this.wakeAtOpening()
    }
    if (capped.length === 0) return calls
    // More may be waiting behind a full batch; and their endpoints' room bounds the next claims.
    this.wanted = capped.length === room
    if (limits !== undefined) for (const call of capped) this.origins.add(limits.originOf(call.endpoint))
    return calls.concat(capped)
  }

  /** Each queue served ahead of the others, by how far. */
  private turns(): CappedTurn[] {
    const turns: CappedTurn[] = []
    for (const [id, queue] of this.finish) {
      if (queue.at > this.virtual) turns.push({ queue: queue.queue, offset: queue.at - this.virtual })
      else this.finish.delete(id)
    }
    return turns
  }

  /**
   * Moves each queue served past the calls it got: its k-th call of this claim ranked at
   * `offset + k * cost` (the store's rule), and the virtual time to the start of the last call served.
   */
  private served(calls: readonly StoredCall[], turns: readonly CappedTurn[]): void {
    if (calls.length === 0) return
    const offsets = new Map(turns.map((t) => [queueId(t.queue), t.offset]))
    const counts = new Map<string, { queue: QueueKey; count: number }>()
    for (const call of calls) {
      const queue = { endpoint: call.endpoint, function: call.function, fairnessKey: call.fairnessKey }
      const id = queueId(queue)
      const entry = counts.get(id)
      if (entry === undefined) counts.set(id, { queue, count: 1 })
      else entry.count++
    }
    let start = 0
    for (const [id, { queue, count }] of counts) {
      const cost = (queue.fairnessKey === undefined ? undefined : this.costs[queue.fairnessKey]) ?? 1
      const end = (offsets.get(id) ?? 0) + count * cost
      start = Math.max(start, end - cost)
      this.finish.set(id, { queue, at: this.virtual + end })
    }
    this.virtual += start
  }

  /**
   * Wakes the delivery loop when the next period opens: a loop with attempts in flight sleeps up to
   * its poll interval, which would start the waiting calls that much late. One ms past the opening,
   * as a timer may fire up to a millisecond before the clock reads its time.
   */
  private wakeAtOpening(): void {
    const { wake, now } = this.options
    if (wake === undefined || now === undefined) return
    clearTimeout(this.openingTimer)
    this.openingTimer = undefined
    if (this.nextOpening === Number.POSITIVE_INFINITY) return
    this.openingTimer = setTimeout(
      () => {
        this.openingTimer = undefined
        wake()
      },
      Math.max(0, this.nextOpening - now() + 1),
    )
    this.openingTimer.unref?.()
  }

  /** Stops the wake-up timer (the scheduler closes). */
  stop(): void {
    clearTimeout(this.openingTimer)
    this.openingTimer = undefined
  }
}
