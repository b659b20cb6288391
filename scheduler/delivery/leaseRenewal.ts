import type { Completion, LeaseExtension, Store } from '../store/store.js'
import type { ClaimSelector } from './claimSelector.js'

/** What {@link LeaseRenewal} needs of a store: renew the leases of these attempts, if still held. */
export type RenewableStore = Required<Pick<Store, 'renewLeases'>>

export interface LeaseRenewalOptions {
  readonly owner: string
  /** The short lease claims take and renewals extend, in ms. */
  readonly leaseMs: number
  /** No lease is renewed past claim time + this (the longest attempt plus its margin), whatever happens. */
  readonly maxLeaseMs: number
  /** Called when a renewal fails (the next one tries again). */
  readonly onError?: (error: unknown) => void
  /** The scheduler's clock, the one claims were taken on (default `Date.now`). */
  readonly now?: () => number
}

interface Held {
  readonly attempt: number
  readonly claimedAt: number
}

/**
 * Short leases, renewed while their attempts run. With a shared store a dead node's calls
 * wait for its leases to expire; renewing a short lease (default 30 s, every third of it) lets
 * another node take them over after that short lease instead of after the longest attempt timeout.
 * Renewal stops when the outcome is recorded, and never extends a lease past `maxLeaseMs` after the
 * claim (the lease the scheduler would take without renewal), so a call whose outcome could not be
 * recorded is still redelivered while this node lives.
 */
export class LeaseRenewal {
  private readonly held = new Map<string, Held>()
  private timer: NodeJS.Timeout | undefined
  private renewing = false

  constructor(
    private readonly store: RenewableStore,
    private readonly options: LeaseRenewalOptions,
  ) {}

  get leaseMs(): number {
    return Math.min(this.options.leaseMs, this.options.maxLeaseMs)
  }

  /**
   * The selector, noting every call it claims. Its `notice` is passed on: without it a queue that
   * became due (a tail call's new queue, a woken parent's) would wait for the selector's next listing.
   */
  track(selector: ClaimSelector): ClaimSelector {
    const tracked: ClaimSelector = {
      claim: async (now, capacity) => {
        const calls = await selector.claim(now, capacity)
        for (const call of calls) this.held.set(call.dispatchId, { attempt: call.attempts, claimedAt: now })
        return calls
      },
    }
    if (selector.notice) tracked.notice = (queues, capped) => selector.notice?.(queues, capped)
    return tracked
  }

  /** Outcomes recorded (or given up on): their leases are no longer renewed. */
  recorded(completions: readonly Completion[]): void {
    for (const c of completions) {
      if (this.held.get(c.dispatchId)?.attempt === c.attempt) this.held.delete(c.dispatchId)
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.renew(), Math.max(10, Math.floor(this.leaseMs / 3)))
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private async renew(): Promise<void> {
    if (this.renewing) return
    this.renewing = true
    try {
      const now = (this.options.now ?? Date.now)()
      const leases: LeaseExtension[] = []
      for (const [dispatchId, held] of this.held) {
        const cap = held.claimedAt + this.options.maxLeaseMs
        if (cap <= now) this.held.delete(dispatchId)
        else leases.push({ dispatchId, attempt: held.attempt, until: Math.min(now + this.leaseMs, cap) })
      }
      if (leases.length > 0) await this.store.renewLeases(this.options.owner, leases)
    } catch (error) {
      this.options.onError?.(error)
    } finally {
      this.renewing = false
    }
  }
}
