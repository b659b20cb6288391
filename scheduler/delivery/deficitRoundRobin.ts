import type { QueueKey, Store, StoredCall } from '../store/store.js'
import type { AdaptiveConcurrency } from './adaptiveConcurrency.js'
import type { ClaimSelector } from './claimSelector.js'

export interface FairnessOptions {
  /** Shares by fairness key, relative to 1 (the share of every key not named, and of calls without a key). */
  readonly weights?: Readonly<Record<string, number>>
}

export interface DeficitRoundRobinOptions {
  readonly owner: string
  readonly leaseMs: number
  /** Claims per store transaction. */
  readonly batchSize: number
  readonly weights: Readonly<Record<string, number>>
  /** Per-endpoint limits; a queue whose endpoint has no room is skipped (keeping its place). */
  readonly limits?: AdaptiveConcurrency | undefined
  /** Re-read the queues with due calls at least this often, in ms (retries coming due, other nodes). */
  readonly refreshMs?: number
}

interface Queue {
  readonly key: QueueKey
  readonly id: string
  readonly origin: string
  readonly weight: number
  deficit: number
  /** The claim that last visited it; {@link share} and {@link room} are that claim's. */
  claim: number
  /** Calls this claim takes from it. */
  share: number
  /** Its origin's room in this claim, shared by the queues of that origin. */
  room: { free: number }
  /** Calls this claim got from it. */
  got: number
}

const NO_ROOM = { free: 0 }

/** Queues listed per refresh; more than this many tenants are still served, found on later refreshes. */
const MAX_QUEUES_LISTED = 10_000

const queueId = (q: QueueKey): string => JSON.stringify([q.endpoint, q.function, q.fairnessKey ?? null])

/**
 * Deficit round robin over queues (endpoint, function, fairness key): every round each queue with due
 * calls earns its weight in credit and is served as many calls as it has whole credit, so a backlog
 * of any size on one queue delays a call on another by at most one round. Queues are known from
 * `Store.dueQueues` (re-read every `refreshMs`, and whenever none is known) and from
 * {@link notice} (the API names the queues it just inserted into), and dropped when a claim finds
 * them empty. All shares of one claim are taken in one store transaction (`Store.claimQueues`).
 */
export class DeficitRoundRobin implements ClaimSelector {
  private ring: Queue[] = []
  private readonly byId = new Map<string, Queue>()
  private cursor = 0
  private refreshedAt = Number.NEGATIVE_INFINITY
  private stale = true
  private refreshEveryMs = 250
  /** Claims so far: the stamp of the current one on the queues it visits (one delivery loop claims, one claim at a time). */
  private claims = 0

  constructor(
    private readonly store: Store,
    private readonly options: DeficitRoundRobinOptions,
  ) {}

  /** New calls were stored in these queues (or, without queues, anywhere: re-read the store). */
  notice(queues?: readonly QueueKey[]): void {
    if (queues === undefined) {
      this.stale = true
      return
    }
    for (const key of queues) this.add(key)
  }

  private add(key: QueueKey): void {
    const id = queueId(key)
    if (this.byId.has(id)) return
    const queue: Queue = {
      key,
      id,
      origin: this.options.limits?.originOf(key.endpoint) ?? key.endpoint,
      weight: (key.fairnessKey === undefined ? undefined : this.options.weights[key.fairnessKey]) ?? 1,
      deficit: 0,
      claim: 0,
      share: 0,
      room: NO_ROOM,
      got: 0,
    }
    this.byId.set(id, queue)
    this.ring.push(queue)
  }

  private remove(dropped: ReadonlySet<Queue>): void {
    if (dropped.size === 0) return
    const current = this.ring[this.cursor]
    this.ring = this.ring.filter((q) => !dropped.has(q))
    for (const q of dropped) this.byId.delete(q.id)
    const at = current === undefined ? -1 : this.ring.indexOf(current)
    this.cursor = at === -1 ? 0 : at
  }

  private async refresh(now: number): Promise<void> {
    this.stale = false
    this.refreshedAt = now
    const started = performance.now()
    const listed = await this.store.dueQueues!(now, MAX_QUEUES_LISTED)
    for (const key of listed) this.add(key)
    // Listing scans the unfinished calls (~0.1 µs each in SQLite): with a backlog of millions, keep
    // the periodic listing under ~5 % of the time. Dispatches name their queues, so only retries
    // coming due and other nodes' calls wait for it.
    this.refreshEveryMs = Math.max(this.options.refreshMs ?? 250, 20 * (performance.now() - started))
  }

  async claim(now: number, capacity: number): Promise<StoredCall[]> {
    const { store, options } = this
    if (store.dueQueues === undefined) {
      // A store without queue listing: oldest due first, unfair but correct.
      return store.claimCalls({
        now,
        limit: Math.min(capacity, options.batchSize),
        owner: options.owner,
        leaseMs: options.leaseMs,
      })
    }
    if (this.stale || this.ring.length === 0 || now - this.refreshedAt >= this.refreshEveryMs) {
      await this.refresh(now)
    }
    const shares = this.allocate(Math.min(capacity, options.batchSize))
    if (shares.length === 0) return []
    const request = shares.map((queue) => ({ queue: queue.key, limit: queue.share }))
    const calls =
      store.claimQueues !== undefined
        ? await store.claimQueues({ now, owner: options.owner, leaseMs: options.leaseMs, queues: request })
        : (
            await Promise.all(
              request.map((r) =>
                store.claimCalls({
                  now,
                  limit: r.limit,
                  owner: options.owner,
                  leaseMs: options.leaseMs,
                  queue: r.queue,
                }),
              ),
            )
          ).flat()
    // A queue that gave fewer calls than its share has nothing more due: drop it until it shows up again.
    // The calls of one queue come together: each is matched against the last queue before any lookup.
    let last: Queue | undefined
    for (const call of calls) {
      if (
        last === undefined ||
        last.key.endpoint !== call.endpoint ||
        last.key.function !== call.function ||
        last.key.fairnessKey !== call.fairnessKey
      ) {
        last = this.byId.get(
          queueId({ endpoint: call.endpoint, function: call.function, fairnessKey: call.fairnessKey }),
        )
      }
      if (last !== undefined && last.claim === this.claims) last.got++
    }
    const empty = new Set<Queue>()
    for (const queue of shares) {
      if (queue.got < queue.share) {
        queue.deficit = 0
        empty.add(queue)
      }
    }
    this.remove(empty)
    return calls
  }

  /**
   * One or more DRR rounds from the cursor until `total` calls are shared out or no queue can take more:
   * the queues served, each with its {@link Queue.share}. The rounds keep their tallies on the queues
   * (stamped with this claim), so a round is arithmetic, not map lookups.
   */
  private allocate(total: number): Queue[] {
    const claim = ++this.claims
    const served: Queue[] = []
    const limits = this.options.limits
    const rooms = new Map<string, { free: number }>()
    let left = total
    const n = this.ring.length
    // Weights below 1 need several rounds to earn one call; bound the rounds anyway.
    for (let round = 0; left > 0 && n > 0 && round < 1000; round++) {
      let any = false
      for (let i = 0; i < n && left > 0; i++) {
        const index = (this.cursor + i) % n
        const queue = this.ring[index]!
        if (queue.claim !== claim) {
          queue.claim = claim
          queue.share = 0
          queue.got = 0
          let room = rooms.get(queue.origin)
          if (room === undefined) {
            room = { free: limits === undefined ? Number.POSITIVE_INFINITY : limits.available(queue.origin) }
            rooms.set(queue.origin, room)
          }
          queue.room = room
        }
        const room = queue.room
        if (room.free <= 0 || queue.weight <= 0) continue
        any = true
        queue.deficit += queue.weight
        const take = Math.min(Math.floor(queue.deficit), left, room.free)
        if (take <= 0) continue
        if (queue.share === 0) served.push(queue)
        queue.share += take
        queue.deficit -= take
        left -= take
        room.free -= take
        // The next claim continues after the last queue served when this one ran out of room.
        if (left === 0) this.cursor = (index + 1) % n
      }
      if (!any) break
    }
    return served
  }
}
