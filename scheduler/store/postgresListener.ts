import pg from 'pg'

/**
 * New-work notifications between the nodes of a PostgreSQL installation: LISTEN on the schema's
 * channel on a dedicated connection, re-established with backoff when it drops. The store's own
 * notifications (the payload names its instance) are skipped: its scheduler already knows.
 */
export class NewWorkListener {
  private client: pg.Client | undefined
  private retry: NodeJS.Timeout | undefined
  private readonly listeners = new Set<() => void>()
  private closed = false

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly channel: string,
    private readonly instance: string,
  ) {}

  /** Calls `listener` on every other node's notification; returns a function that stops it. */
  add(listener: () => void): () => void {
    this.listeners.add(listener)
    if (this.client === undefined && this.retry === undefined) void this.listen(100)
    return () => {
      this.listeners.delete(listener)
    }
  }

  private async listen(retryMs: number): Promise<void> {
    this.retry = undefined
    if (this.closed) return
    const client = new pg.Client(this.connection)
    client.on('notification', (message) => {
      // This store's own changes: its scheduler already knows (the API wakes the loop itself).
      if (message.payload === this.instance) return
      for (const listener of this.listeners) listener()
    })
    const reconnect = () => {
      if (this.client === client) this.client = undefined
      client.end().catch(() => undefined)
      if (this.closed || this.retry !== undefined) return
      this.retry = setTimeout(() => void this.listen(Math.min(retryMs * 2, 5000)), retryMs)
      this.retry.unref()
    }
    client.on('error', reconnect)
    client.on('end', reconnect)
    try {
      await client.connect()
      await client.query(`LISTEN "${this.channel}"`)
      if (this.closed) {
        await client.end()
        return
      }
      this.client = client
      // Anything inserted while the connection was down: wake once, the claim finds it.
      for (const listener of this.listeners) listener()
    } catch {
      reconnect()
    }
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    const client = this.client
    this.client = undefined
    if (client !== undefined) {
      client.removeAllListeners('end')
      client.removeAllListeners('error')
      client.on('error', () => undefined)
      await client.end().catch(() => undefined)
    }
  }
}
