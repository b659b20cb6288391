import { closeSync, fdatasync, openSync } from 'node:fs'

/**
 * Group commit for the SQLite store's durable writes, with the fsync off the event loop.
 *
 * With `synchronous=FULL`, SQLite fsyncs the WAL inside every commit, and better-sqlite3 runs that
 * commit on the one thread that also claims, delivers and answers the API: each fsync (1–4 ms on a
 * virtual disk) stops everything. Instead the store commits with `synchronous=NORMAL` (the frames
 * are written to the WAL, not yet synced) and a write resolves only once this class has fsynced
 * the WAL file on the thread pool. What a write acknowledges is then on disk exactly as with FULL:
 * WAL frames are checksummed and a commit counts only with every frame before it, so syncing the
 * file after the commit makes that commit, and every earlier one, durable.
 *
 * Commits made while an fsync runs wait for the next one, which covers all of them (group commit);
 * the loop meanwhile goes on with claims and deliveries. Reads answered outside the scheduler
 * (the API, the dashboard) wait with {@link settled} for what has been committed so far, so nothing
 * that a power loss could still take back is ever shown. The scheduler's own work may act on a
 * commit before its fsync (deliver a call whose dispatch is not yet acknowledged): after a power
 * loss such a call is delivered again or, never acknowledged, dispatched again — at least once.
 */
export class WalSync {
  private fd: number | undefined
  /** Commits made that must be durable before their writes resolve. */
  private committed = 0
  /** Commits known to be on disk. */
  private synced = 0
  private syncing = false
  private waiters: { readonly upTo: number; readonly resolve: () => void; readonly reject: (e: unknown) => void }[] = []
  private closed = false

  /** `sync` is the fsync to run (node's, on the thread pool); the tests hold it back to watch who waits. */
  constructor(
    private readonly walPath: string,
    private readonly sync: (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void = fdatasync,
  ) {}

  /** Resolves once the commit just made (and every one before it) is on disk. */
  committedNow(): Promise<void> {
    this.committed++
    return this.until(this.committed)
  }

  /** Resolves once every commit made so far is on disk (at once when there is none pending). */
  settled(): Promise<void> {
    if (this.synced >= this.committed) return Promise.resolve()
    return this.until(this.committed)
  }

  private until(upTo: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject })
      this.next()
    })
  }

  private next(): void {
    if (this.syncing || this.waiters.length === 0) return
    if (this.closed) {
      this.fail(new Error('the store was closed before its last writes were synced'))
      return
    }
    // Everything committed up to now is in the WAL file (better-sqlite3 commits synchronously):
    // this fsync covers it all.
    const upTo = this.committed
    this.syncing = true
    let fd: number
    try {
      this.fd ??= openSync(this.walPath, 'r')
      fd = this.fd
    } catch (error) {
      this.syncing = false
      this.fail(error)
      return
    }
    this.sync(fd, (error) => {
      this.syncing = false
      if (error !== null) {
        this.fail(error)
      } else {
        this.synced = Math.max(this.synced, upTo)
        const done = this.waiters.filter((w) => w.upTo <= upTo)
        this.waiters = this.waiters.filter((w) => w.upTo > upTo)
        for (const w of done) w.resolve()
      }
      this.next()
    })
  }

  /** An fsync that failed leaves it unknown what reached the disk: every write waiting fails. */
  private fail(error: unknown): void {
    const waiting = this.waiters
    this.waiters = []
    for (const w of waiting) w.reject(error)
  }

  /** Waits for the writes committed so far, then lets go of the WAL file. */
  async close(): Promise<void> {
    try {
      await this.settled()
    } finally {
      this.closed = true
      if (this.fd !== undefined) closeSync(this.fd)
      this.fd = undefined
    }
  }
}
