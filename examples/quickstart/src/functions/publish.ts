import { httpError } from 'dispatch-functions'
import type { Static } from 'typebox'
import type { Payload, Url } from '../schemas.js'

/** Publishes a payload to a webhook: POSTs it as JSON and fails unless the answer is 2xx. */
export async function publish(url: Static<typeof Url>, payload: Static<typeof Payload>): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  })
  // The status decides the retry: 5xx retried, 429 retried with lower concurrency, other 4xx not.
  if (!response.ok) throw httpError(response)
}
