import { all, CallFailedError, race, sleep } from 'dispatch-functions'
import type { Static } from 'typebox'
import { dispatchClient } from '../dispatch.gen/client.gen.js'
import type { Summary, UserIds } from '../schemas.js'

/**
 * Notifies every user: looks them all up in parallel (durable calls), waits a moment (a durable
 * timer), takes whichever delivery route answers first, and charges the first user, catching the
 * failure. Every step survives a crash of the application or of the scheduler.
 */
export async function notifyAll(userIds: Static<typeof UserIds>): Promise<Static<typeof Summary>> {
  const users = await all(userIds.map((id) => dispatchClient.getUser.call(id)))
  await sleep('1s')
  const first = await race([dispatchClient.slowA.call(), dispatchClient.slowB.call()])
  try {
    await dispatchClient.charge.call(users[0]!.id)
    return { sent: users.length, first, charged: true }
  } catch (error) {
    if (!(error instanceof CallFailedError)) throw error
    return { sent: users.length, first, charged: false, chargeError: `${error.errorType}: ${error.errorMessage}` }
  }
}
