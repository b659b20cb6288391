/** Small formatting helpers shared by the pages. */

export const LIVE_STATES = ['pending', 'running', 'suspended']
export const REDRIVABLE_STATES = ['failed', 'cancelled']
export const STATES = ['pending', 'running', 'suspended', 'succeeded', 'failed', 'cancelled']

export function when(iso: string | undefined): string {
  if (iso === undefined) return '-'
  const d = new Date(iso)
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  return `${(ms / 60_000).toFixed(1)} min`
}

/** A message as JSON, for a <pre>. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2)
}

/** The value inside an Any of google.protobuf.Value (what the TypeScript SDK sends), else the Any. */
export function unwrap(message: { '@type'?: string; value?: unknown } | undefined): unknown {
  if (message === undefined) return undefined
  return message['@type']?.endsWith('google.protobuf.Value') ? message.value : message
}
