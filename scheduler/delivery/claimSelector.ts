import type { QueueKey, Store, StoredCall } from '../store/store.js'

/**
 * The one place that decides what to serve next. Today: the calls due longest, over all queues.
 * Fair scheduling replaces this with a choice among queues (deficit round robin over
 * (endpoint, function, fairness key)) claiming from each through `ClaimRequest.queue`, and
 * adaptive concurrency caps how many it takes per endpoint; the delivery loop does not change.
 */
export interface ClaimSelector {
  claim(now: number, capacity: number): Promise<StoredCall[]>
  /**
   * Calls became due in these queues (absent: somewhere); a selector that tracks queues adds them.
   * `capped`: some of them have a per-key concurrency limit.
   */
  notice?(queues?: readonly QueueKey[], capped?: boolean): void
}

export interface OldestDueOptions {
  readonly owner: string
  readonly leaseMs: number
  /** Claims per store transaction; larger batches mean fewer commits. */
  readonly batchSize: number
}

export function oldestDueFirst(store: Store, options: OldestDueOptions): ClaimSelector {
  return {
    claim: (now, capacity) =>
      store.claimCalls({
        now,
        limit: Math.min(capacity, options.batchSize),
        owner: options.owner,
        leaseMs: options.leaseMs,
      }),
  }
}
