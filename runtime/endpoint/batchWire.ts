// The wire names of the batch extension live in schemas/, shared with the scheduler.
export { BATCH_CONTENT_TYPE, BATCH_HEADER, BATCH_STREAM_CONTENT_TYPE, MAX_BATCH_CALLS } from '../../schemas/batch.js'

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
