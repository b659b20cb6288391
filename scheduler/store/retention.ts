import { setImmediate as yieldToEvents } from 'node:timers/promises'
import type { Store } from './store.js'

/** Calls deleted per transaction: short enough that a delivery waiting for the store barely notices. */
export const PURGE_BATCH_SIZE = 500
/** Batches per sweep (or per manual purge request) before the work is left for the next one. */
export const PURGE_BATCHES_PER_SWEEP = 10
/** A sweep that left calls behind is followed by the next one this soon, in ms. */
const BACKLOG_DELAY_MS = 50

export interface PurgeProgress {
  readonly deleted: number
  /** True when the batch cap was reached: more finished calls may be due. */
  readonly more: boolean
}

/**
 * Deletes the finished calls last changed before `before` in batches of {@link PURGE_BATCH_SIZE},
 * yielding to the event loop between batches (deliveries and API requests run in between), for at
 * most `maxBatches` batches.
 */
export async function purgeInBatches(
  store: Store,
  before: number,
  maxBatches = PURGE_BATCHES_PER_SWEEP,
  stopped: () => boolean = () => false,
): Promise<PurgeProgress> {
  // Nothing finished before the epoch: a retention longer than the clock is old keeps everything.
  if (!(before > 0)) return { deleted: 0, more: false }
  let deleted = 0
  for (let batch = 0; batch < maxBatches; batch++) {
    if (stopped()) return { deleted, more: true }
    const n = await store.purgeFinishedCalls(before, PURGE_BATCH_SIZE)
    deleted += n
    if (n < PURGE_BATCH_SIZE) return { deleted, more: false }
    await yieldToEvents()
  }
  return { deleted, more: true }
}

/** How often retention sweeps: a tenth of the retention, at least every 100 ms and at most every minute. */
export function retentionInterval(retentionMs: number): number {
  return Math.min(60_000, Math.max(100, Math.floor(retentionMs / 10)))
}

/**
 * Deletes finished calls once they are older than the retention, so the database stops growing.
 * A sweep runs every {@link retentionInterval}: small batches, one short transaction each, with the
 * event loop free between them, and at most {@link PURGE_BATCHES_PER_SWEEP} of them; a backlog (a
 * first start on a large database, a burst) is worked off by sweeps that follow each other closely.
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<PurgeProgress> | undefined
  private stopped = false
  private readonly intervalMs: number

  constructor(
    private readonly store: Store,
    private readonly retentionMs: number,
    private readonly onError: (error: unknown) => void,
    /** The scheduler's clock (default `Date.now`). */
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = retentionInterval(retentionMs)
  }

  start(): void {
    this.schedule(this.intervalMs)
  }

  /** One sweep now (joining one in progress). */
  sweep(now = this.now()): Promise<PurgeProgress> {
    this.sweeping ??= purgeInBatches(
      this.store,
      now - this.retentionMs,
      PURGE_BATCHES_PER_SWEEP,
      () => this.stopped,
    ).finally(() => {
      this.sweeping = undefined
    })
    return this.sweeping
  }

  /** Stops sweeping and waits for the batch in progress. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.sweeping?.catch(() => undefined)
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.sweep().then(
        (progress) => this.schedule(progress.more ? BACKLOG_DELAY_MS : this.intervalMs),
        (error: unknown) => {
          this.onError(error)
          this.schedule(this.intervalMs)
        },
      )
    }, delayMs)
    this.timer.unref()
  }
}
