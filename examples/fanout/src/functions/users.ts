import { PermanentError } from 'dispatch-functions'
import type { Static } from 'typebox'
import type { Route, User, UserId } from '../schemas.js'

/** Looks a user up (here: made up from the id). */
export async function getUser(id: Static<typeof UserId>): Promise<Static<typeof User>> {
  const n = id.slice(1)
  return { id, name: `User ${n}`, email: `user${n}@example.test` }
}

/** The SMS gateway's route: answers after a short while. */
export async function slowA(): Promise<Static<typeof Route>> {
  await new Promise((resolve) => setTimeout(resolve, 50))
  return 'sms'
}

/** The e-mail route: answers after a longer while. */
export async function slowB(): Promise<Static<typeof Route>> {
  await new Promise((resolve) => setTimeout(resolve, 500))
  return 'email'
}

/** Charges a user; this demo's card is always declined (a permanent failure, not retried). */
export async function charge(id: Static<typeof UserId>): Promise<void> {
  throw new PermanentError(`the card of ${id} was declined`)
}
