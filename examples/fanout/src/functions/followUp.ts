import { sleep } from 'dispatch-functions'
import type { Static } from 'typebox'
import { dispatchClient } from '../dispatch.gen/client.gen.js'
import type { FollowUp, UserId } from '../schemas.js'

/**
 * Follows up with a user ten minutes later: a durable timer (no process holds it; it survives
 * restarts), then a durable lookup. The demo does not run it; examples/fanout/test shows it run in
 * milliseconds with the test environment's clock.
 */
export async function followUp(userId: Static<typeof UserId>): Promise<Static<typeof FollowUp>> {
  await sleep('10m')
  const user = await dispatchClient.getUser.call(userId)
  return `followed up with ${user.name} <${user.email}>`
}
