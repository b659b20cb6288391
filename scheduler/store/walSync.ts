import { closeSync, fdatasync, openSync } from 'node:fs'

/**
 * Group commit for the SQLite store's durable writes, with the fsync off the event loop.
 *
 * With `synchronous=FULL`, SQLite fsyncs the WAL inside every commit, and better-sqlite3 runs that
 * commit on the one thread that also claims, delivers and answers the API: each fsync (1–4 ms on a
 * virtual disk) stops everything. Instead the store commits with `synchronous=NORMAL` (the frames
 * are written to the WAL, not yet synced) and a write resolves only once this class has synced
 * the WAL file on the thread pool. What a write acknowledges is then on disk exactly as with FULL:
 * WAL frames are checksummed and a commit counts only with every frame before it, so syncing the
 * file after the commit makes that commit, and every earlier one, durable. (SQLite itself, under
 * NORMAL, still syncs the WAL before a checkpoint, the database after it, and a reused WAL's header.)
 *
 * Commits made while a sync runs wait for the next one, which covers all of them (group commit);
 * the loop meanwhile goes on with claims and deliveries. Reads answered outside the scheduler
 * (the API, the dashboard) wait with {@link settled} for what has been committed so far, so nothing
 * that a power loss could still take back is ever shown. The scheduler's own work may act on a
 * commit before its sync (deliver a call whose dispatch is not yet acknowledged): after a power
 * loss such a call is delivered again or, never acknowledged, dispatched again — at least once.
 *
 * A failed sync is final: the kernel reports a write-back error once and may have dropped the
 * pages, so a later sync that succeeds proves nothing about the frames before it (and WAL frames
 * chain: a lost one loses every commit after it). Every waiting and later write fails with the
 * same error, and the store refuses writes until the scheduler is restarted and SQLite recovers
 * the WAL from the disk.
 */
export class WalSync {
  private fd: number | undefined
  /** Commits made (writes and claims alike) since the store opened. */
  private committed = 0
  /** Commits known to be on disk. */
  private synced = 0
  private running: Promise<void> | undefined
  private waiters: { readonly upTo: number; readonly resolve: () => void; readonly reject: (e: unknown) => void }[] = []
  private failure: Error | undefined
  private closed = false

  /** `sync` is the fdatasync to run (node's, on the thread pool); the tests hold it back to watch who waits. */
  constructor(
    private readonly walPath: string,
    private readonly sync: (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void = fdatasync,
  ) {
    // Opened now, while the file is the one SQLite has open (read and write: Windows needs write
    // access to flush a file). Should it not exist yet, the first sync opens it.
    try {
      this.fd = openSync(walPath, 'r+')
    } catch {
      this.fd = undefined
    }
  }

  /** Why the WAL cannot be trusted any more, once a sync failed; writes must then be refused. */
  get failed(): Error | undefined {
    return this.failure
  }

  /** Resolves once the commit just made (and every one before it) is on disk. */
  committedNow(): Promise<void> {
    this.committed++
    return this.until(this.committed)
  }

  /**
   * Counts a commit that nobody waits for (a claim): reads that come later wait for it like for any
   * other, so they never show a claim a power loss could take back.
   */
  committedUnwaited(): void {
    this.committed++
  }

  /** Resolves once every commit made so far is on disk (at once when there is none pending). */
  settled(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.synced >= this.committed) return Promise.resolve()
    return this.until(this.committed)
  }

  private until(upTo: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject })
      this.next()
    })
  }

  private next(): void {
    if (this.running !== undefined || this.waiters.length === 0) return
    if (this.closed) {
      this.fail(new Error('the store was closed before its last writes were synced'))
      return
    }
    // Everything committed up to now is in the WAL file (better-sqlite3 commits synchronously):
    // this sync covers it all.
    const upTo = this.committed
    let fd: number
    try {
      this.fd ??= openSync(this.walPath, 'r+')
      fd = this.fd
    } catch (error) {
      this.fail(error)
      return
    }
    this.running = new Promise<void>((done) => {
      this.sync(fd, (error) => {
        this.running = undefined
        if (error !== null) {
          this.fail(error)
        } else {
          this.synced = Math.max(this.synced, upTo)
          const ready = this.waiters.filter((w) => w.upTo <= upTo)
          this.waiters = this.waiters.filter((w) => w.upTo > upTo)
          for (const w of ready) w.resolve()
          this.next()
        }
        done()
      })
    })
  }

  /** Fails every waiting write, and (see the class) every later one. */
  private fail(error: unknown): void {
    const cause = error instanceof Error ? error : new Error(String(error))
    this.failure ??= Object.assign(
      new Error(
        `the database's write-ahead log ${this.walPath} could not be synced to disk (${cause.message}): writes since the last sync may be lost; restart the scheduler once the disk is sound`,
        { cause },
      ),
      // Kept so that the API answers 503 (the store cannot write now), as for other disk errors.
      { code: (cause as { code?: unknown }).code ?? 'EIO' },
    )
    const waiting = this.waiters
    this.waiters = []
    for (const w of waiting) w.reject(this.failure)
  }

  /** Waits for the writes committed so far and for a sync in flight, then lets go of the WAL file. */
  async close(): Promise<void> {
    try {
      // Until nothing runs and nobody waits: a sync may start for a write committed meanwhile.
      for (;;) {
        if (this.running !== undefined) await this.running
        else if (this.waiters.length > 0 && this.failure === undefined) await this.settled().catch(() => undefined)
        else break
      }
    } finally {
      this.closed = true
      if (this.fd !== undefined) closeSync(this.fd)
      this.fd = undefined
    }
  }
}
