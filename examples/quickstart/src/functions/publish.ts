import type { Static } from 'typebox'
import type { Payload, Url } from '../schemas.js'

/** Publishes a payload to a webhook: POSTs it as JSON and fails unless the answer is 2xx. */
export async function publish(url: Static<typeof Url>, payload: Static<typeof Payload>): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
  // The runtime classifies the failure (5xx and 429 are retried) from the status in the message.
  if (!response.ok) throw new Error(`POST ${url} answered HTTP ${response.status}`)
}
