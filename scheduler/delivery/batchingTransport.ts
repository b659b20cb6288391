import type { RunRequest } from 'dispatch-functions/protocol'
import type { BatchItem, DeliveryTransport, EndpointClient, PostOutcome } from './endpointClient.js'

/**
 * Delivers attempts to endpoints that advertised batches (docs/protocol.md, "Batched delivery") several
 * to one signed request: the attempts a claim started for one endpoint in the same turn of the event
 * loop go together, up to `maxCalls` (and the endpoint's own limit). Nothing waits to fill a batch: a
 * lone attempt is sent alone, as an ordinary request. Endpoints that did not advertise batches, and
 * those spoken to in protobuf, get one request per attempt as before.
 */
export class BatchingTransport implements DeliveryTransport {
  private readonly pending = new Map<string, BatchItem[]>()
  private flushQueued = false

  constructor(
    private readonly client: EndpointClient,
    private readonly maxCalls: number,
  ) {}

  post(endpoint: string, request: RunRequest, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
    const limit = Math.min(this.maxCalls, this.client.batchLimitOf(endpoint) ?? 1)
    if (limit <= 1 || this.client.codecOfEndpoint(endpoint) !== 'json') {
      return this.client.post(endpoint, request, timeoutMs, signal)
    }
    return new Promise<PostOutcome>((settle) => {
      let items = this.pending.get(endpoint)
      if (items === undefined) {
        items = []
        this.pending.set(endpoint, items)
      }
      items.push({ request, timeoutMs, signal, settle })
      if (items.length >= limit) {
        this.pending.delete(endpoint)
        this.send(endpoint, items)
      } else if (!this.flushQueued) {
        // After the claim's loop has started every attempt of this turn.
        this.flushQueued = true
        queueMicrotask(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.flushQueued = false
    const pending = [...this.pending]
    this.pending.clear()
    for (const [endpoint, items] of pending) this.send(endpoint, items)
  }

  private send(endpoint: string, items: BatchItem[]): void {
    if (items.length === 1) {
      const item = items[0]!
      void this.client.post(endpoint, item.request, item.timeoutMs, item.signal).then(item.settle)
      return
    }
    // postBatch settles every item itself; should it throw anyway, no call may be left unsettled.
    this.client.postBatch(endpoint, items).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error)
      for (const item of items) {
        item.settle({
          kind: 'failure',
          status: 'STATUS_TEMPORARY_ERROR',
          error: { type: 'BatchFailed', message: `the batch could not be sent: ${message.slice(0, 300)}` },
        })
      }
    })
  }
}
