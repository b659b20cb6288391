import type { Static } from 'typebox'
import { recordRun } from '../journal.js'
import type { Summary, SummaryRequest } from '../schemas.js'

/**
 * Asks the LLM provider for a summary. Its quota is 2 requests a second per customer: the calls over
 * it wait, and start as earlier starts leave their second.
 * @rateLimit 2/1s key=customerId
 */
export async function summarize(request: Static<typeof SummaryRequest>): Promise<Static<typeof Summary>> {
  return recordRun('summarize', request.customerId, request, async () => `summary ${request.n}`)
}
