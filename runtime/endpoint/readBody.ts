/** The outcome of reading a request body under a limit. */
export type BodyRead =
  | { readonly kind: 'body'; readonly bytes: Uint8Array }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'lengthMismatch' }

/** Concatenates `chunks` (of `total` bytes) into one array; a single chunk is used as it is. */
export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

/**
 * Reads a body of announced length `length` from `chunks`, stopping as soon as it goes over
 * `limit` (the rest is never buffered) or over its own length; a body that ends short is a mismatch.
 */
export async function readBody(
  chunks: AsyncIterable<Uint8Array>,
  length: number,
  limit: number,
  stop: () => void,
): Promise<BodyRead> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of chunks) {
    total += chunk.length
    if (total > limit) {
      stop()
      return { kind: 'tooLarge' }
    }
    if (total > length) {
      stop()
      return { kind: 'lengthMismatch' }
    }
    parts.push(chunk)
  }
  if (total !== length) return { kind: 'lengthMismatch' }
  return { kind: 'body', bytes: concatChunks(parts, total) }
}
