import { all, currentCall } from 'dispatch-functions'
import type { Static } from 'typebox'
import { dispatchClient } from '../dispatch.gen/client.gen.js'
import type { Greeting, Greetings, Name, Names } from '../schemas.js'

/** Greets one person, naming the call that did it. */
export async function greet(name: Static<typeof Name>): Promise<Static<typeof Greeting>> {
  return `hello ${name} (call ${currentCall().dispatchId ?? '-'})`
}

/** Greets everyone: one durable call of greet per name, in parallel; resumed when their results are in. */
export async function greetAll(names: Static<typeof Names>): Promise<Static<typeof Greetings>> {
  return all(names.map((name) => dispatchClient.greet.call(name)))
}
