import type { KeyObject } from 'node:crypto'
import { signRequestAsync } from 'dispatch-functions/internal'
import type { Codec, ErrorMessage, RunRequest, Status } from 'dispatch-functions/protocol'
import {
  BATCH_CONTENT_TYPE,
  BATCH_HEADER,
  BATCH_STREAM_CONTENT_TYPE,
  codecOfContentType,
  codedMessage,
  contentTypeOf,
  decodeProto,
  encodeProto,
  ProtoCodecError,
  RunRequestProto,
  RunResponseProto,
  runUrl,
} from 'dispatch-functions/protocol'
import { Pool } from 'undici'
import type { EndpointAllowList } from '../calls/endpointAllowList.js'
import { unwatchAbort, watchAbort } from './abortWatch.js'
import { bodyExcerpt } from './bodyExcerpt.js'
import { readAnswerLine } from './readAnswerLine.js'
import { httpStatus, transportStatus } from './transportStatus.js'

/** The largest RunResponse read from an endpoint; a bigger one is STATUS_INVALID_RESPONSE. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024
/** Of a non-2xx answer only this much is read: the call's error keeps a short excerpt of it. */
const MAX_ERROR_BODY_BYTES = 16 * 1024

/**
 * What one POST to an endpoint gave: a 2xx body to decode (JSON text, or an answer in binary protobuf
 * already decoded into its JSON form), or a status already decided.
 */
export type PostOutcome =
  | { readonly kind: 'answer'; readonly body: string; readonly decoded?: unknown }
  | { readonly kind: 'failure'; readonly status: Status; readonly error: ErrorMessage }

/** How attempts reach endpoints: signed HTTP POSTs ({@link EndpointClient}), or a test environment's own way. */
export interface DeliveryTransport {
  post(endpoint: string, request: RunRequest, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome>
}

// The endpoint derives the `@authority` and `@path` it checks from its own URL with the same function.
export { runUrl }

interface PoolEntry {
  readonly pool: Pool
  inFlight: number
  /** Set by every request; {@link EndpointClient.sweep} clears it, and drops the pool if it was clear. */
  used: boolean
}

/**
 * Signed POSTs of RunRequests over keep-alive connections: one undici Pool per endpoint origin,
 * so deliveries reuse connections instead of paying a TCP (and TLS) handshake each. Pools of origins
 * left idle are dropped by {@link sweep}, so a scheduler that has called many origins does not keep them all.
 */
export class EndpointClient {
  private readonly pools = new Map<string, PoolEntry>()
  /** The endpoints whose last answer advertised batches (docs/protocol.md, "Batched delivery"), and their limit. */
  private readonly batchLimits = new Map<string, number>()

  constructor(
    private readonly privateKey: KeyObject,
    private readonly connectionsPerOrigin: number,
    /** The endpoints spoken to in binary protobuf (docs/scheduler.md, "Codecs"); the others get JSON. */
    private readonly protoEndpoints?: EndpointAllowList | undefined,
    /** Whether endpoints' batch advertisements are noted (the `batchDelivery` option is on). */
    private readonly batching = false,
  ) {}

  /** The codec RunRequests to `endpoint` (a parsed URL) are sent in. */
  codecOf(endpoint: URL): Codec {
    return this.protoEndpoints?.allows(endpoint) === true ? 'proto' : 'json'
  }

  /** {@link codecOf} of an endpoint URL as text: parsed only when some endpoints get protobuf (the hot path has none). */
  codecOfEndpoint(endpoint: string): Codec {
    return this.protoEndpoints === undefined ? 'json' : this.codecOf(new URL(endpoint))
  }

  /** How many calls `endpoint` takes in one batch, as its last answer said; undefined: it takes none. */
  batchLimitOf(endpoint: string): number | undefined {
    return this.batchLimits.get(endpoint)
  }

  /** Remembers whether an answer of `endpoint` advertised batches: an endpoint that stops gets single calls again. */
  private noteAdvertised(endpoint: string, header: string | string[] | undefined): void {
    const limit = typeof header === 'string' ? Number.parseInt(header, 10) : Number.NaN
    if (Number.isInteger(limit) && limit > 1) this.batchLimits.set(endpoint, limit)
    else this.batchLimits.delete(endpoint)
  }

  /**
   * POSTs several JSON RunRequests to `endpoint` in one signed request (docs/protocol.md, "Batched
   * delivery"); each item's `settle` is called once, as soon as its answer line arrives, when its own
   * timeout passes or its signal aborts, or when the stream ends without it (a transport failure, so
   * the call is retried). An endpoint that answers anything but a batch stream is no longer sent
   * batches, and these calls go to it one by one. Never throws.
   */
  async postBatch(endpoint: string, items: readonly BatchItem[]): Promise<void> {
    // Each call's JSON once: the batch's body is cut to fit the endpoint's body limit (the default,
    // DEFAULT_BODY_LIMIT) — sent whole, an oversized batch would be refused and sent one by one, again
    // at every round. A call too big on its own goes alone (and is refused as such, as it would be anyway).
    let parts: string[]
    try {
      parts = items.map((item) => JSON.stringify(item.request))
    } catch (error) {
      const mapped = transportStatus(error)
      for (const item of items) item.settle({ kind: 'failure', status: mapped.status, error: mapped.error })
      return
    }
    const groups = fitBatches(parts, MAX_BATCH_BODY_BYTES)
    await Promise.all(
      groups.map(async (group) => {
        if (group.length === 1) {
          const item = items[group[0]!]!
          item.settle(await this.post(endpoint, item.request, item.timeoutMs, item.signal))
          return
        }
        await this.postOneBatch(
          endpoint,
          group.map((i) => items[i]!),
          group.map((i) => parts[i]!),
        )
      }),
    )
  }

  private async postOneBatch(endpoint: string, items: readonly BatchItem[], parts: readonly string[]): Promise<void> {
    let url: URL
    try {
      url = runUrl(endpoint)
    } catch {
      for (const item of items) {
        item.settle(failure('STATUS_INVALID_ARGUMENT', 'InvalidEndpoint', `the endpoint ${endpoint} is not a URL`))
      }
      return
    }
    let open = items.length
    const settled = new Array<boolean>(items.length).fill(false)
    const controller = new AbortController()
    let givenUp = false
    const settle = (index: number, outcome: PostOutcome, givingUp = false) => {
      if (settled[index]) return
      settled[index] = true
      givenUp ||= givingUp
      cleanups[index]!()
      items[index]!.settle(outcome)
      // Nobody waits for the rest of a stream some calls were given up on: drop it. One whose every
      // line came is left to end by itself, so its connection is kept alive.
      if (--open === 0 && givenUp) controller.abort()
    }
    const cleanups = items.map((item, index) => {
      const timer = setTimeout(
        () =>
          settle(
            index,
            failure('STATUS_TIMEOUT', 'Timeout', `no answer from ${url.origin} within ${item.timeoutMs} ms`),
            true,
          ),
        Math.max(1, item.timeoutMs),
      )
      const cancel = () =>
        settle(
          index,
          failure('STATUS_TIMEOUT', 'Aborted', 'the attempt was abandoned (the scheduler is shutting down)'),
          true,
        )
      const watcher = { abort: cancel }
      if (item.signal.aborted) queueMicrotask(cancel)
      else watchAbort(item.signal, watcher)
      return () => {
        clearTimeout(timer)
        unwatchAbort(item.signal, watcher)
      }
    })
    const answered = new Array<boolean>(items.length).fill(false)
    let lineNumber = 0
    /** The first line skipped: why the calls still without an answer at the end of the stream got none. */
    let skipped: string | undefined
    const onLine = (line: string) => {
      lineNumber++
      const read = readAnswerLine(line, lineNumber, items.length, answered, url.origin)
      if (read.index === undefined) {
        skipped ??= read.skipped
        return
      }
      answered[read.index] = true
      settle(read.index, read.outcome)
    }
    // Encoded once: the digest is taken over these bytes and the socket is given them as they are.
    const body = Buffer.from(`{"calls":[${parts.join(',')}]}`)
    const timeoutMs = Math.max(...items.map((item) => item.timeoutMs))
    const entry = this.poolFor(url.origin)
    entry.inFlight++
    entry.used = true
    try {
      const signature = await signRequestAsync({
        method: 'POST',
        url: url.href,
        headers: { 'content-type': BATCH_CONTENT_TYPE },
        body,
        privateKey: this.privateKey,
      })
      const response = await entry.pool.request({
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': BATCH_CONTENT_TYPE, ...signature },
        body,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      this.noteAdvertised(endpoint, response.headers[BATCH_HEADER])
      const type = response.headers['content-type']
      if (response.statusCode !== 200 || typeof type !== 'string' || !type.startsWith(BATCH_STREAM_CONTENT_TYPE)) {
        // Not a batch stream: nothing ran (the endpoint refused the body as a whole). One by one instead.
        await response.body.dump().catch(() => undefined)
        this.batchLimits.delete(endpoint)
        await Promise.all(
          items.map(async (item, index) => {
            if (settled[index]) return
            settle(index, await this.post(endpoint, item.request, item.timeoutMs, item.signal))
          }),
        )
        return
      }
      let rest = ''
      for await (const chunk of response.body) {
        rest += (chunk as Buffer).toString('utf8')
        let newline = rest.indexOf('\n')
        while (newline !== -1) {
          onLine(rest.slice(0, newline))
          rest = rest.slice(newline + 1)
          newline = rest.indexOf('\n')
        }
        if (rest.length > MAX_RESPONSE_BYTES)
          throw new Error(`a line of the batch answer is over ${MAX_RESPONSE_BYTES} bytes`)
      }
      // A last line without its newline: read as any other (cut off, it is not JSON and is skipped).
      if (rest.trim() !== '') onLine(rest)
    } catch (error) {
      if (open > 0) {
        const mapped = transportStatus(error)
        for (let index = 0; index < items.length; index++) {
          settle(index, { kind: 'failure', status: mapped.status, error: mapped.error })
        }
      }
    } finally {
      entry.inFlight--
      // A stream that ended without some answers: those calls are retried (at least once).
      const unanswered =
        skipped === undefined
          ? failure(
              'STATUS_TEMPORARY_ERROR',
              'BatchEnded',
              codedMessage(
                'DSP3017',
                `${url.origin} ended the batch answer after ${answered.filter(Boolean).length} of ${items.length} lines, before this call's`,
              ),
            )
          : failure('STATUS_TEMPORARY_ERROR', 'BatchAnswerInvalid', `${skipped}; this call got no answer`)
      for (let index = 0; index < items.length; index++) settle(index, unanswered)
    }
  }

  /** The pools kept now (one per origin called recently or with requests in flight). */
  get poolCount(): number {
    return this.pools.size
  }

  private poolFor(origin: string): PoolEntry {
    let entry = this.pools.get(origin)
    if (entry === undefined) {
      const pool = new Pool(origin, {
        connections: this.connectionsPerOrigin,
        keepAliveTimeout: 30_000,
        connectTimeout: 10_000,
        maxResponseSize: MAX_RESPONSE_BYTES,
      })
      entry = { pool, inFlight: 0, used: true }
      this.pools.set(origin, entry)
    }
    return entry
  }

  /**
   * Closes the pools of origins with nothing in flight and no request since the previous sweep; run it
   * every idle period, and a pool goes between one and two periods after its last request.
   */
  sweep(): number {
    let dropped = 0
    for (const [origin, entry] of this.pools) {
      if (entry.inFlight > 0 || entry.used) {
        entry.used = false
        continue
      }
      this.pools.delete(origin)
      dropped++
      entry.pool.close().catch(() => undefined)
    }
    return dropped
  }

  /** POSTs `request` to the endpoint; never throws. `signal` aborts it (timeout or shutdown). */
  async post(endpoint: string, request: RunRequest, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
    let url: URL
    try {
      url = runUrl(endpoint)
    } catch {
      return failure('STATUS_INVALID_ARGUMENT', 'InvalidEndpoint', `the endpoint ${endpoint} is not a URL`)
    }
    const codec = this.codecOfEndpoint(endpoint)
    let body: Buffer
    if (codec === 'json') body = Buffer.from(JSON.stringify(request))
    else {
      try {
        body = Buffer.from(encodeProto(RunRequestProto, request))
      } catch (error) {
        if (!(error instanceof ProtoCodecError)) throw error
        // Only an input no binary peer could read gets here (an Any of an unknown type given as JSON).
        return failure(
          'STATUS_INVALID_ARGUMENT',
          'InvalidInput',
          `the RunRequest cannot be sent in protobuf: ${error.message}`,
        )
      }
    }
    // The signature covers the content type, so it names the codec of the body it signs.
    const contentType = contentTypeOf(codec)
    // On the thread pool: the loop goes on claiming, recording and sending while Ed25519 runs.
    const signature = await signRequestAsync({
      method: 'POST',
      url: url.href,
      headers: { 'content-type': contentType },
      body,
      privateKey: this.privateKey,
    })
    // One controller and one timer per attempt: AbortSignal.timeout + AbortSignal.any cost several
    // times more per delivery (profiled in bench/e2e), and this is the hot path.
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(
      () => {
        timedOut = true
        controller.abort()
      },
      Math.max(1, timeoutMs),
    )
    watchAbort(signal, controller)
    const entry = this.poolFor(url.origin)
    entry.inFlight++
    entry.used = true
    try {
      const response = await entry.pool.request({
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': contentType, ...signature },
        body,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      if (this.batching) this.noteAdvertised(endpoint, response.headers[BATCH_HEADER])
      if (response.statusCode >= 200 && response.statusCode < 300) {
        // The answer is read in the codec it says it is in (a peer may answer JSON to a binary request),
        // else in the codec of the request (a peer that names none, or `application/octet-stream`).
        const answerType = response.headers['content-type']
        const answerCodec = codecOfContentType(typeof answerType === 'string' ? answerType : undefined) ?? codec
        if (answerCodec === 'json') {
          return { kind: 'answer', body: await response.body.text() }
        }
        const bytes = new Uint8Array(await response.body.arrayBuffer())
        try {
          return { kind: 'answer', body: '', decoded: decodeProto(RunResponseProto, bytes) }
        } catch (error) {
          if (!(error instanceof ProtoCodecError)) throw error
          return failure('STATUS_INVALID_RESPONSE', 'InvalidResponse', `${url.origin} answered ${error.message}`)
        }
      }
      const text = await readStart(response.body, MAX_ERROR_BODY_BYTES)
      return failure(
        httpStatus(response.statusCode),
        `HTTP ${response.statusCode}`,
        `${url.origin} answered HTTP ${response.statusCode}: ${bodyExcerpt(text)}`,
      )
    } catch (error) {
      if (timedOut) {
        return failure('STATUS_TIMEOUT', 'Timeout', `no answer from ${url.origin} within ${timeoutMs} ms`)
      }
      const mapped = transportStatus(error)
      return { kind: 'failure', status: mapped.status, error: mapped.error }
    } finally {
      entry.inFlight--
      clearTimeout(timer)
      unwatchAbort(signal, controller)
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((entry) => entry.pool.destroy().catch(() => undefined)))
  }
}

/** One call of a batch: its request, its own deadline and signal, and where its outcome goes. */
export interface BatchItem {
  readonly request: RunRequest
  readonly timeoutMs: number
  readonly signal: AbortSignal
  readonly settle: (outcome: PostOutcome) => void
}

function failure(status: Status, type: string, message: string): PostOutcome {
  return { kind: 'failure', status, error: { type, message } }
}

/** Up to `max` bytes of a body, as text; the rest is not read (the connection is dropped instead). */
async function readStart(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(chunk)
    size += chunk.length
    if (size >= max) {
      body.destroy()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8')
}

/**
 * A batch's body stays under the endpoint's default body limit (16 MiB, less room for the envelope):
 * the calls of one batch are cut into groups (indexes, in order) whose JSON fits.
 */
const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024 - 64 * 1024

export function fitBatches(parts: readonly string[], maxBytes: number): number[][] {
  const groups: number[][] = []
  let group: number[] = []
  let bytes = 0
  parts.forEach((part, index) => {
    const size = Buffer.byteLength(part) + 1 // and its comma
    if (group.length > 0 && bytes + size > maxBytes) {
      groups.push(group)
      group = []
      bytes = 0
    }
    group.push(index)
    bytes += size
  })
  if (group.length > 0) groups.push(group)
  return groups
}
