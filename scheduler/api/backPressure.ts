import { type Completion, type Store, UNFINISHED_STATES } from '../store/store.js'

export interface BackPressureOptions {
  /**
   * Refuse dispatches while this many calls are unfinished (pending or running): the endpoints are
   * behind. Default 1,000,000.
   */
  readonly maxUnfinishedCalls?: number
  /**
   * Refuse dispatches while this many accepted calls wait for their commit: the store is behind.
   * Bounds the memory requests can hold. Default 50,000.
   */
  readonly maxQueuedCalls?: number
  /** The `Retry-After` of a refusal, in seconds. Default 1. */
  readonly retryAfterS?: number
}

export type ResolvedBackPressure = Required<BackPressureOptions>

export interface Refusal {
  /** queued: the store is behind (calls waiting for their commit); unfinished: the endpoints are behind. */
  readonly reason: 'queued' | 'unfinished'
  readonly message: string
  readonly retryAfterS: number
}

/** The store's counts are re-read this often (or less, when counting takes long), correcting the running estimate (other nodes, cancels). */
const RESYNC_MS = 10_000

/**
 * Decides when the Dispatch API answers 429 instead of accepting more work. It keeps a running
 * count of unfinished calls (read from the store at start and every 10 s or so; between reads, inserts
 * add and terminal outcomes subtract) rather than counting rows per request.
 */
export class BackPressure {
  private unfinished = 0
  private timer: NodeJS.Timeout | undefined
  private syncing = false
  private stopped = false

  constructor(
    private readonly store: Store,
    readonly options: ResolvedBackPressure,
    private readonly queuedCalls: () => number,
  ) {}

  async start(): Promise<void> {
    await this.resync()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private async resync(): Promise<void> {
    if (this.syncing) return
    this.syncing = true
    const started = performance.now()
    try {
      // The unfinished calls only: a range of the index on state, not a scan of the whole history.
      const counts = await this.store.countCalls({ unfinishedOnly: true })
      // Filtered here too: a store written before the option existed counts every state.
      this.unfinished = counts.reduce((n, c) => (UNFINISHED_STATES.has(c.state) ? n + c.count : n), 0)
    } catch {
      // Keep the estimate; the next resync tries again.
    } finally {
      this.syncing = false
      if (!this.stopped) {
        // Counting reads every unfinished call: with millions of them, re-read less often (under ~5 % of the time).
        this.timer = setTimeout(() => void this.resync(), Math.max(RESYNC_MS, 20 * (performance.now() - started)))
        this.timer.unref()
      }
    }
  }

  /** Unfinished calls, as estimated now. */
  get unfinishedCalls(): number {
    return this.unfinished
  }

  inserted(count: number): void {
    this.unfinished += count
  }

  recorded(completions: readonly Completion[]): void {
    for (const c of completions) {
      if (c.kind === 'succeeded' || c.kind === 'failed') this.unfinished--
      else if (c.kind === 'poll') this.unfinished += c.children.length // a Poll's children
    }
    if (this.unfinished < 0) this.unfinished = 0
  }

  /** Why a dispatch must be refused now, or undefined to accept it. */
  check(): Refusal | undefined {
    const { maxQueuedCalls, maxUnfinishedCalls, retryAfterS } = this.options
    const queued = this.queuedCalls()
    if (queued >= maxQueuedCalls) {
      return {
        reason: 'queued',
        retryAfterS,
        message: `the scheduler is writing ${queued} accepted calls to its store (limit ${maxQueuedCalls}); retry after ${retryAfterS} s`,
      }
    }
    if (this.unfinished >= maxUnfinishedCalls) {
      return {
        reason: 'unfinished',
        retryAfterS,
        message: `the scheduler has ${this.unfinished} unfinished calls (limit ${maxUnfinishedCalls}): the endpoints are behind; retry after ${retryAfterS} s`,
      }
    }
    return undefined
  }
}
