import type { IncomingMessage } from 'node:http'
import { type BodyRead, concatChunks } from '../endpoint/readBody.js'

/** How reading a request body from a node:http request ended. */
export type NodeBodyRead = BodyRead | { readonly kind: 'aborted' }

/**
 * Reads the body of `request` (announced as `length` bytes), stopping as soon as it goes over
 * `limit`: the rest is left unread (the answer closes the connection), so an oversize body is
 * never buffered. The request itself is not destroyed, so the refusal can still be sent.
 */
export function readNodeBody(request: IncomingMessage, length: number, limit: number): Promise<NodeBodyRead> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = []
    let total = 0
    const finish = (read: NodeBodyRead) => {
      request.off('data', onData)
      request.off('end', onEnd)
      request.off('error', onAbort)
      request.off('aborted', onAbort)
      resolve(read)
    }
    const onData = (chunk: Uint8Array) => {
      total += chunk.length
      if (total > limit || total > length) {
        request.pause()
        finish(total > limit ? { kind: 'tooLarge' } : { kind: 'lengthMismatch' })
      } else parts.push(chunk)
    }
    const onEnd = () =>
      finish(total === length ? { kind: 'body', bytes: concatChunks(parts, total) } : { kind: 'lengthMismatch' })
    const onAbort = () => finish({ kind: 'aborted' })
    request.on('data', onData)
    request.on('end', onEnd)
    request.on('error', onAbort)
    request.on('aborted', onAbort)
  })
}
