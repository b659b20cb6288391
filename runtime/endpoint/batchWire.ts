/**
 * The batched Run extension between this project's scheduler and endpoint (docs/protocol.md,
 * "Batched delivery"): the names and limits both sides agree on.
 */

/** The response header every Run answer carries: the most calls this endpoint accepts in one batch. */
export const BATCH_HEADER = 'dispatch-batch'
/** The content type of a batch request: `{"calls":[RunRequest, …]}` in JSON. */
export const BATCH_CONTENT_TYPE = 'application/vnd.dispatch.batch+json'
/** The content type of a batch answer: one JSON line per call, in the order the calls finish. */
export const BATCH_STREAM_CONTENT_TYPE = 'application/x-ndjson'
/** The most calls one batch may carry. */
export const MAX_BATCH_CALLS = 256

/**
 * The lines of a batch answer as an async iterable: `push` adds one as soon as its call finished,
 * `end` once every call has; the adapter writes each line to the socket as it comes.
 */
export class LineQueue implements AsyncIterable<string> {
  private readonly lines: string[] = []
  private ended = false
  private wake: (() => void) | undefined

  push(line: string): void {
    this.lines.push(line)
    this.wake?.()
  }

  end(): void {
    this.ended = true
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      if (this.lines.length > 0) {
        // Everything ready goes out in one write.
        yield this.lines.splice(0).join('')
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => {
        this.wake = () => {
          this.wake = undefined
          resolve()
        }
      })
    }
  }
}
