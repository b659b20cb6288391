/**
 * `npm run bench:dashboard`: how fast the dashboard's list answers on a scheduler holding 10,000
 * calls (target: a filtered page in <= 100 ms). The calls are real: dispatched through the API to
 * an in-process function, a third delayed an hour (pending), the rest run to success or failure (one
 * in five refused); a tenth carry an idempotency key, half a fairness key. Then each filter the dashboard offers is asked
 * `--requests N` times (default 50) over HTTP with the dashboard's session cookie, 50 calls a page as
 * the dashboard asks, and the median and p95 round trip printed.
 *
 * Flags: `--calls N` (default 10000), `--requests N`, `--json` (one line), `--postgres` (on the
 * PostgreSQL at DISPATCH_DATABASE_URL, in a schema of its own, dropped after).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Type } from 'typebox'
import { defineRoutes, PermanentError, tupleSchema } from '../../runtime/index.js'
import { openPostgresStore, startScheduler } from '../../scheduler/index.js'

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name)
  return at === -1 ? fallback : Number(args[at + 1])
}
const total = flag('--calls', 10_000)
const requests = flag('--requests', 50)
const json = args.includes('--json')
const postgresUrl = args.includes('--postgres') ? process.env['DISPATCH_DATABASE_URL'] : undefined
if (args.includes('--postgres') && !postgresUrl) throw new Error('--postgres needs DISPATCH_DATABASE_URL')
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}

const routes = defineRoutes({
  work: {
    input: tupleSchema([Type.Integer()]),
    output: Type.Integer(),
    handler: async (n: number) => {
      if (n % 5 === 0) throw new PermanentError(`refused ${n}`)
      return n
    },
    source: 'bench:1',
  },
})

const dir = await mkdtemp(join(tmpdir(), 'dispatch-bench-dashboard-'))
const schema = `bench_dashboard_${randomBytes(4).toString('hex')}`
const scheduler = await startScheduler({
  dbPath: join(dir, 'dispatch.db'),
  port: 0,
  apiKey: 'bench-key',
  routes,
  retention: false,
  dashboard: true,
  ...(postgresUrl ? { postgres: { url: postgresUrl, schema } } : {}),
})
const api = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${scheduler.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key', ...headers },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`)
  return response
}

try {
  // 10,000 calls, 500 per Dispatch request.
  const endpoint = scheduler.inProcessEndpoint!
  const started = performance.now()
  for (let from = 0; from < total; from += 500) {
    const calls = Array.from({ length: Math.min(500, total - from) }, (_, k) => {
      const i = from + k
      return {
        endpoint,
        function: 'work',
        input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [i] },
        ...(i % 3 === 0 ? { delay: '3600s' } : {}),
        ...(i % 10 === 1 ? { idempotencyKey: `order-${i}` } : {}),
        ...(i % 2 === 0 ? { fairnessKey: `tenant-${i % 7}` } : {}),
      }
    })
    await api('/dispatch.sdk.v1.DispatchService/Dispatch', { calls })
  }
  // Wait until only the delayed calls are left.
  for (;;) {
    const counts = await scheduler.stats()
    const live = counts.filter((c) => c.state === 'running' || c.state === 'pending').reduce((n, c) => n + c.count, 0)
    if (live <= Math.ceil(total / 3)) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  log(`${total} calls stored and run in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const login = await fetch(`${scheduler.url}/ui/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: scheduler.url },
    body: JSON.stringify({ apiKey: 'bench-key' }),
  })
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!
  const fromTime = new Date(Date.now() - 60_000).toISOString()
  const cases: [string, Record<string, unknown>][] = [
    ['no filter', {}],
    ['state failed', { state: 'failed' }],
    ['function + state pending', { function: 'work', state: 'pending' }],
    ['endpoint + state succeeded', { endpoint, state: 'succeeded' }],
    ['created in the last minute', { createdAfter: fromTime }],
    ['idempotency key (exact)', { search: `order-${total - 9}` }],
    ['state failed, 20th page', { state: 'failed', page: 20 }],
  ]
  const results: Record<string, { p50: number; p95: number; rows: number }> = {}
  for (const [name, filter] of cases) {
    const { page, ...rest } = filter as { page?: number }
    // The cursor of the page to ask for, found once (the dashboard keeps it while paging).
    let cursor: string | undefined
    for (let p = 1; p < (page ?? 1); p++) {
      const answer = (await (
        await api('/dispatch.scheduler.v1.CallService/List', { ...rest, limit: 50, ...(cursor ? { cursor } : {}) })
      ).json()) as { nextCursor?: string }
      cursor = answer.nextCursor
    }
    const times: number[] = []
    let rows = 0
    for (let r = 0; r < requests; r++) {
      const t0 = performance.now()
      const response = await fetch(`${scheduler.url}/dispatch.scheduler.v1.CallService/List`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, origin: scheduler.url, 'x-dispatch-csrf': '1' },
        body: JSON.stringify({ ...rest, limit: 50, ...(cursor ? { cursor } : {}) }),
      })
      const answer = (await response.json()) as { calls: unknown[] }
      times.push(performance.now() - t0)
      rows = answer.calls.length
    }
    times.sort((a, b) => a - b)
    const p50 = times[Math.floor(times.length / 2)]!
    const p95 = times[Math.min(times.length - 1, Math.floor(times.length * 0.95))]!
    results[name] = { p50: Number(p50.toFixed(1)), p95: Number(p95.toFixed(1)), rows }
    log(`${name.padEnd(30)} ${String(rows).padStart(3)} rows  p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms`)
  }
  if (json)
    process.stdout.write(`${JSON.stringify({ calls: total, store: postgresUrl ? 'postgres' : 'sqlite', results })}\n`)
} finally {
  await scheduler.close()
  if (postgresUrl) {
    const store = await openPostgresStore({ url: postgresUrl, schema, poolSize: 1 })
    await store.dropSchema()
    await store.close()
  }
  await rm(dir, { recursive: true, force: true })
}
