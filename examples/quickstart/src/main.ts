/**
 * The quickstart, end to end, as an application run under `dispatch run`: start the local
 * webhook target and the Fastify app, dispatch a few hundred `publish` calls through the typed
 * client, wait until every one has finished, and print what happened.
 */
import { createCallServiceClient } from 'dispatch-functions'
import { dispatchBatch, dispatchClient } from './dispatch.gen/client.gen.js'
import { startServer } from './server.js'
import { startTarget } from './target.js'

const CALLS = Number(process.env['QUICKSTART_CALLS'] ?? 300)

const target = await startTarget()
const app = await startServer()

// One call on its own, then the rest as atomic batches of 100.
const ids = [await dispatchClient.publish(target.url, { n: 0, message: 'hello' })]
for (let start = 1; start < CALLS; start += 100) {
  const batch = []
  for (let n = start; n < Math.min(start + 100, CALLS); n++) {
    batch.push(dispatchClient.publish.build(target.url, { n, message: `hello #${n}` }))
  }
  ids.push(...(await dispatchBatch(batch)))
}
console.log(`dispatched ${ids.length} publish calls to ${target.url}`)

const calls = createCallServiceClient()
const states = new Map<string, number>()
const attempts = new Map<number, number>()
const pending = [...ids]
await Promise.all(
  Array.from({ length: 20 }, async () => {
    for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
      let answer = await calls.wait(id, '30s')
      while (!answer.done) answer = await calls.wait(id, '30s')
      const key = `${answer.call.state} (${answer.call.status ?? '-'})`
      states.set(key, (states.get(key) ?? 0) + 1)
      attempts.set(answer.call.attempts, (attempts.get(answer.call.attempts) ?? 0) + 1)
    }
  }),
)

const sorted = <K, V>(m: Map<K, V>) => [...m.entries()].sort(([a], [b]) => String(a).localeCompare(String(b)))
console.log('\ncalls by outcome:')
for (const [key, count] of sorted(states)) console.log(`  ${key.padEnd(28)} ${count}`)
console.log('calls by attempts:')
for (const [n, count] of sorted(attempts)) console.log(`  ${String(n).padEnd(28)} ${count}`)
console.log('target answers:')
for (const [status, count] of sorted(target.answers)) console.log(`  HTTP ${String(status).padEnd(23)} ${count}`)
console.log(`payloads delivered: ${target.delivered.size} of ${ids.length}`)

await app.close()
await target.close()
const ok = states.get('succeeded (STATUS_OK)') === ids.length && target.delivered.size === ids.length
process.exitCode = ok ? 0 : 1
