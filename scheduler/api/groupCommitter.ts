import type { InsertResult, NewCall, Store } from '../store/store.js'

export interface GroupCommitOptions {
  readonly idempotencyWindowMs: number
  /** The scheduler's clock (default `Date.now`). */
  readonly now?: () => number
  /** At most this many calls per shared transaction; more wait for the next one. Default 20,000. */
  readonly maxCallsPerCommit?: number
}

interface Waiting {
  readonly calls: readonly NewCall[]
  readonly resolve: (results: InsertResult[]) => void
  readonly reject: (error: unknown) => void
  readonly onCommitted: ((results: readonly InsertResult[]) => void) | undefined
}

/**
 * Group commit in front of `Store.insertCalls`: Dispatch requests that arrive while a commit is in
 * progress (or in the same turn of the event loop) are written together in the next transaction, so
 * one fsync acknowledges many requests. Each request still gets its ids only after the transaction
 * holding its calls is durable. Requests are merged in arrival order, so idempotency keys resolve as
 * if the requests had been committed one after the other. If a shared commit fails, each of its
 * requests is committed again on its own: one request's failure does not fail the others.
 */
export class GroupCommitter {
  private waiting: Waiting[] = []
  private waitingCalls = 0
  private committing = false
  private scheduled = false

  constructor(
    private readonly store: Store,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Calls accepted but not yet committed (what back-pressure bounds). */
  get queuedCalls(): number {
    return this.waitingCalls
  }

  /** `onCommitted`: as `InsertOptions.onCommitted`, for this request's calls and results. */
  insert(calls: readonly NewCall[], onCommitted?: (results: readonly InsertResult[]) => void): Promise<InsertResult[]> {
    if (calls.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      this.waiting.push({ calls, resolve, reject, onCommitted })
      this.waitingCalls += calls.length
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.committing || this.scheduled || this.waiting.length === 0) return
    this.scheduled = true
    // setImmediate: requests whose bodies arrived in this turn of the event loop join this commit.
    setImmediate(() => {
      this.scheduled = false
      void this.commit()
    })
  }

  private async commit(): Promise<void> {
    const max = this.options.maxCallsPerCommit ?? 20_000
    const group: Waiting[] = []
    let count = 0
    while (this.waiting.length > 0 && (group.length === 0 || count + this.waiting[0]!.calls.length <= max)) {
      const next = this.waiting.shift()!
      group.push(next)
      count += next.calls.length
    }
    this.committing = true
    let released = false
    // The next group may commit once this one is committed: with a store that syncs after its
    // commit (SQLite), it commits while this one's fsync runs, and one fsync may serve both.
    const release = () => {
      if (released) return
      released = true
      this.waitingCalls -= count
      this.committing = false
      this.schedule()
    }
    try {
      await this.write(group, release)
    } finally {
      release()
    }
  }

  private async write(group: readonly Waiting[], committed: () => void): Promise<void> {
    const now = (this.options.now ?? Date.now)()
    const base = { now, idempotencyWindowMs: this.options.idempotencyWindowMs }
    if (group.length > 1) {
      let wasCommitted = false
      try {
        const results = await this.store.insertCalls(
          group.flatMap((w) => w.calls),
          {
            ...base,
            onCommitted: (all) => {
              wasCommitted = true
              let at = 0
              for (const w of group) {
                // One request's listener failing tells the others all the same.
                try {
                  w.onCommitted?.(all.slice(at, at + w.calls.length))
                } catch {
                  // That request notices its calls when the insert resolves.
                }
                at += w.calls.length
              }
              committed()
            },
          },
        )
        let at = 0
        for (const w of group) {
          w.resolve(results.slice(at, at + w.calls.length))
          at += w.calls.length
        }
        return
      } catch (error) {
        // Committed, then not made durable (an fsync failed): written again, the calls would be
        // refused as duplicates of themselves. Every request of the group fails with the cause.
        if (wasCommitted) {
          for (const w of group) w.reject(error)
          return
        }
        // Nothing of the group was stored (one transaction): find out whose request fails, alone.
      }
    }
    for (const [i, w] of group.entries()) {
      const last = i === group.length - 1
      try {
        const onCommitted = (results: readonly InsertResult[]) => {
          try {
            w.onCommitted?.(results)
          } finally {
            if (last) committed()
          }
        }
        w.resolve(await this.store.insertCalls(w.calls, { ...base, onCommitted }))
      } catch (error) {
        w.reject(error)
      }
    }
  }
}
