import { SignalTimeoutError, step, waitForSignal } from 'dispatch-functions'
import type { Static } from 'typebox'
import { dispatchClient } from '../dispatch.gen/client.gen.js'
import type { Approval, UserId } from '../schemas.js'

/**
 * Waits up to a day for a person to approve a user's order: a durable wait for the signal
 * `approval` (no process holds it; send it with `dispatchClient.approveOrder.signal(id, 'approval',
 * { approved, by })` or `dispatch calls signal`), then charges once, in a durable step.
 * examples/fanout/test runs it with the test environment's clock.
 * @version 1
 */
export async function approveOrder(userId: Static<typeof UserId>): Promise<Static<typeof Approval>> {
  const user = await dispatchClient.getUser.call(userId)
  try {
    const answer = await waitForSignal<{ approved: boolean; by: string }>('approval', { timeout: '1d' })
    if (!answer.approved) return `rejected by ${answer.by}`
  } catch (error) {
    if (!(error instanceof SignalTimeoutError)) throw error
    return `no approval for ${user.name} within a day`
  }
  const receipt = await step('charge', () => `charged ${user.email}`)
  return `approved: ${receipt}`
}
