/**
 * `npm run bench:testing`: how fast the test environment (`dispatch-functions-tools/testing`) runs
 * what would take a day of real time. Two measurements, wall time of each, medians of several
 * environments (a fresh one each run; creating it is measured apart):
 * - `coroutine`: a coroutine that sleeps one day (durable timer) and then awaits 3 children whose
 *   mocks fail twice each before succeeding (retried after their backoffs), from dispatch to result
 *   with `advanceTime('1d')` plus the backoffs. Target: <= 100 ms.
 * - `calls`: 1,000 calls dispatched through the generated-style client (one batch), run and waited
 *   for through the environment. Target: <= 1 s.
 *
 * Flags: `--json` (one line of medians), `--runs N` (default 5; a first warm-up run is not counted).
 */
import { performance } from 'node:perf_hooks'
import { Type } from 'typebox'
import {
  all,
  createClient,
  defineRoutes,
  dispatchBatch,
  sleep,
  TemporaryError,
  tupleSchema,
} from '../../runtime/index.js'
import { createTestEnvironment } from '../../testing/index.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const runsAt = args.indexOf('--runs')
const runs = runsAt === -1 ? 5 : Number(args[runsAt + 1])
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}

type Functions = {
  child: { args: [n: number]; output: number }
  parent: { args: []; output: number }
  echo: { args: [n: number]; output: number }
}
const client = createClient<Functions>({ child: 1, parent: 0, echo: 1 })
const routes = defineRoutes({
  child: { source: 'bench', input: tupleSchema([Type.Number()]), output: Type.Number(), handler: (n: number) => n },
  parent: {
    source: 'bench',
    input: tupleSchema([]),
    output: Type.Number(),
    handler: async () => {
      await sleep('1d')
      const values = await all([1, 2, 3].map((n) => client.child.call(n)))
      return values.reduce((a, b) => a + b, 0)
    },
  },
  echo: { source: 'bench', input: tupleSchema([Type.Number()]), output: Type.Number(), handler: (n: number) => n },
})

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

async function once(): Promise<{ createMs: number; coroutineMs: number; callsMs: number }> {
  let started = performance.now()
  const env = await createTestEnvironment({ routes, retry: { initialBackoffMs: 1000 } })
  const createMs = performance.now() - started
  try {
    const failures = new Map<number, number>()
    env.mock('child', async (n) => {
      const failed = failures.get(n) ?? 0
      failures.set(n, failed + 1)
      if (failed < 2) throw new TemporaryError('fails twice first')
      return n
    })
    started = performance.now()
    const id = await client.parent()
    await env.advanceTime('1d')
    await env.advanceTime('1m')
    const parent = await env.waitFor(id)
    const coroutineMs = performance.now() - started
    if (parent.output !== 6 || parent.children.some((c) => c.attempts.length !== 3)) {
      throw new Error(`the coroutine ended wrong: ${JSON.stringify(parent.output)}`)
    }

    started = performance.now()
    const ids = await dispatchBatch(Array.from({ length: 1000 }, (_, n) => client.echo.build(n)))
    await env.runUntilIdle()
    const done = await Promise.all(ids.map((callId) => env.inspect(callId)))
    const callsMs = performance.now() - started
    if (done.some((c) => c.state !== 'succeeded')) throw new Error('a call did not succeed')
    return { createMs, coroutineMs, callsMs }
  } finally {
    await env.close()
  }
}

await once() // warm-up: module loading and first compilations are not what a test pays per case
const samples = []
for (let i = 0; i < runs; i++) samples.push(await once())
const result = {
  create_ms: Math.round(median(samples.map((s) => s.createMs)) * 10) / 10,
  coroutine_ms: Math.round(median(samples.map((s) => s.coroutineMs)) * 10) / 10,
  calls_1000_ms: Math.round(median(samples.map((s) => s.callsMs))),
}
if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
log(`environment created in ${result.create_ms} ms (median of ${runs})`)
log(`1-day sleep + 3 children each failing twice: ${result.coroutine_ms} ms (target <= 100 ms)`)
log(`1,000 calls dispatched, run and inspected: ${result.calls_1000_ms} ms (target <= 1000 ms)`)
