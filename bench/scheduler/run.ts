/**
 * `npm run bench:scheduler`: the embedded scheduler's baseline, in one process.
 * 1. store: the enqueue + claim + complete cycle on SQLite (synchronous=FULL), in batches.
 * 2. end to end: N no-op calls dispatched in batches of 1,000 to a real endpoint (dispatch plugin,
 *    signature check on) through the real HTTP path; calls per second from the first dispatch to
 *    the last recorded result.
 *
 * Flags: `--json` (one line), `--calls N` (default 5000), `--batch N` (store cycle batch, default 100),
 * `--concurrency N` (default 100).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { createCallServiceClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { newDispatchId } from '../../scheduler/calls/dispatchId.js'
import type { NewCall } from '../../scheduler/index.js'
import { openSqliteStore, startScheduler } from '../../scheduler/index.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}
const json = args.includes('--json')
const calls = option('--calls', 5000)
const batch = option('--batch', 100)
const concurrency = option('--concurrency', 100)
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-scheduler-'))
try {
  // 1. Store cycle.
  const store = openSqliteStore(join(folder, 'store.db'))
  const cycleCalls = 20_000
  const started = performance.now()
  for (let done = 0; done < cycleCalls; done += batch) {
    const now = Date.now()
    const rows: NewCall[] = Array.from({ length: batch }, () => ({
      dispatchId: newDispatchId(now),
      function: 'noop',
      endpoint: 'http://127.0.0.1:9',
      input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [] },
      version: undefined,
      correlationId: undefined,
      createdAt: now,
      dueAt: now,
      expiresAt: undefined,
      expirationMs: undefined,
      maxAttempts: 10,
      fairnessKey: undefined,
      idempotencyKey: undefined,
      parentDispatchId: undefined,
      rootDispatchId: undefined,
    }))
    await store.insertCalls(rows, { now, idempotencyWindowMs: 0 })
    const claimed = await store.claimCalls({ now, limit: batch, owner: 'bench', leaseMs: 60_000 })
    await store.completeAttempts(
      claimed.map((c) => ({
        kind: 'succeeded' as const,
        dispatchId: c.dispatchId,
        attempt: c.attempts,
        owner: 'bench',
        now,
        status: 'STATUS_OK' as const,
        output: undefined,
        error: undefined,
      })),
    )
  }
  const storeCyclePerS = Math.round(cycleCalls / ((performance.now() - started) / 1000))
  await store.close()
  log(`store: enqueue+claim+complete in batches of ${batch}: ${storeCyclePerS} calls/s`)

  // 2. End to end.
  const scheduler = await startScheduler({ dbPath: join(folder, 'e2e.db'), concurrency })
  let ran = 0
  const app = Fastify()
  const routes = defineRoutes({
    noop: {
      input: tupleSchema([]),
      output: undefined,
      source: 'bench/scheduler/run.ts:1',
      handler: () => {
        ran++
      },
    },
  })
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: scheduler.verificationKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const e2eStarted = performance.now()
  const ids: string[] = []
  for (let sent = 0; sent < calls; sent += 1000) {
    const n = Math.min(1000, calls - sent)
    const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` },
      body: JSON.stringify({
        calls: Array.from({ length: n }, () => ({
          endpoint,
          function: 'noop',
          input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [] },
        })),
      }),
    })
    ids.push(...((await response.json()) as { dispatchIds: string[] }).dispatchIds)
  }
  const client = createCallServiceClient({ apiUrl: scheduler.url, apiKey: scheduler.apiKey })
  // The last call dispatched is among the last delivered; wait for it, then for the counts.
  await client.wait(ids[ids.length - 1]!, '120s')
  for (;;) {
    const stats = await scheduler.stats()
    const done = stats.filter((s) => s.state === 'succeeded').reduce((n, s) => n + s.count, 0)
    if (done >= calls) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const e2ePerS = Math.round(calls / ((performance.now() - e2eStarted) / 1000))
  log(`end to end: ${calls} no-op calls through HTTP with signing: ${e2ePerS} calls/s (endpoint ran ${ran})`)
  await scheduler.close()
  await app.close()
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ store_cycle_per_s: storeCyclePerS, calls_per_s: e2ePerS, calls, batch, concurrency })}\n`,
    )
  }
} finally {
  await rm(folder, { recursive: true, force: true })
}
