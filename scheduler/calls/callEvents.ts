/**
 * Wakes the Wait long polls of calls whose state changed in this process. Waiters also re-read
 * the store on a short interval, so a change made elsewhere (another node) is seen too.
 */
export class CallEvents {
  private readonly waiters = new Map<string, Set<() => void>>()
  private closed = false

  /** Resolves when `dispatchId` changes, after `ms`, or when closed, whichever is first. */
  next(dispatchId: string, ms: number): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      let set = this.waiters.get(dispatchId)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(dispatchId, set)
      }
      const waiters = set
      const done = () => {
        clearTimeout(timer)
        waiters.delete(done)
        if (waiters.size === 0 && this.waiters.get(dispatchId) === waiters) this.waiters.delete(dispatchId)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      waiters.add(done)
    })
  }

  /** Whether any Wait is waiting here (else there is nobody to tell of a change). */
  get waiting(): boolean {
    return this.waiters.size > 0
  }

  notify(dispatchIds: Iterable<string>): void {
    if (this.waiters.size === 0) return
    for (const id of dispatchIds) {
      const set = this.waiters.get(id)
      if (set !== undefined) for (const done of [...set]) done()
    }
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Releases every waiter; later waits resolve at once. */
  close(): void {
    this.closed = true
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done()
    this.waiters.clear()
  }
}
