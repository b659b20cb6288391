/**
 * The Hono example, run under `dispatch run` (`npx dispatch run -- node dist/main.js` in a
 * project of your own): start the app, dispatch one `greetAll`, a durable coroutine that calls
 * `greet` once per name, and wait for its result.
 */
import { waitForResult } from 'dispatch-functions'
import { dispatchClient } from './dispatch.gen/client.gen.js'
import { startServer } from './server.js'

const names = ['Ada', 'Grace', 'Barbara']
const server = await startServer()
const id = await dispatchClient.greetAll(names)
const greetings = (await waitForResult(id)) as string[]
console.log(`hono: greetAll answered ${JSON.stringify(greetings)}`)
server.close()
;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
const ok = Array.isArray(greetings) && greetings.every((greeting, i) => greeting.startsWith(`hello ${names[i]} `))
process.exitCode = ok ? 0 : 1
