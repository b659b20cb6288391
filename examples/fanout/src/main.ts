/**
 * The fan-out example, run under `dispatch run` (`npx dispatch run -- node dist/main.js` in a
 * project of your own): start the app, dispatch one `notifyAll` over many users, and wait for its
 * result, which the coroutine assembles from hundreds of durable child calls.
 */
import { waitForResult } from 'dispatch-functions'
import { dispatchClient } from './dispatch.gen/client.gen.js'
import { startServer } from './server.js'

const USERS = Number(process.env['FANOUT_USERS'] ?? 200)

const app = await startServer()
const ids = Array.from({ length: USERS }, (_, i) => `u${i + 1}`)
const started = Date.now()
const id = await dispatchClient.notifyAll(ids)
console.log(`dispatched notifyAll over ${ids.length} users: ${id}`)
const summary = await waitForResult(id)
console.log(`result after ${Date.now() - started} ms:`, JSON.stringify(summary))
await app.close()
const ok =
  typeof summary === 'object' &&
  summary !== null &&
  (summary as { sent?: number }).sent === USERS &&
  (summary as { first?: string }).first === 'sms'
process.exitCode = ok ? 0 : 1
