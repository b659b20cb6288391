import type { AnyMessage } from 'dispatch-functions/protocol'

/**
 * An `Any` as `calls get` shows it: the JSON of a value, or for a type this project cannot read
 * (another SDK's pickled value, carried as bytes: docs/protocol.md §2) its type URL and size.
 */
export function formatAny(any: AnyMessage): string {
  const opaque = any['@bytes']
  if (typeof opaque === 'string') return `${any['@type']} (${Buffer.from(opaque, 'base64').length} bytes)`
  return JSON.stringify(any.value ?? any)
}
