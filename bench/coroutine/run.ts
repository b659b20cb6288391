/**
 * `npm run bench:coroutine`: a durable fan-out/gather. One parent coroutine starts N no-op children
 * with `all(...)` and returns their sum; measured is the wall time from the parent's dispatch to
 * its recorded result (through the real HTTP path: signed requests, validation, the embedded
 * SQLite scheduler with synchronous=FULL), and the size of the journal the parent carried.
 * Target: <= 1 s for 1,000 children on the 2-core machine. Then the same with a large fan-out
 * (default 10,000 children): target <= 3 s, and a journal <= 2 MB.
 *
 * Then a coroutine of N durable steps: it runs N steps one after the other (each returns a number,
 * journaled), then makes one durable call, so a second turn replays all N steps from the journal
 * before it returns the sum. Measured the same way. Target: <= 300 ms for 1,000 steps.
 *
 * Flags: `--json` (one line: `{"children", "wall_ms", "journal_bytes", "large_children",
 * "large_wall_ms", "large_journal_bytes", "steps", "steps_wall_ms", "steps_journal_bytes"}`, medians),
 * `--children N` (default 1000), `--large N` (default 10000; 0 skips it), `--large-runs N` (default 3),
 * `--steps N` (default 1000), `--runs N` (default 5; the first run of each also warms up the code
 * paths and is not counted), `--verify-off-thread` (the endpoint's `verifyOffThread`: Ed25519
 * verification on libuv's thread pool).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { Type } from 'typebox'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { all, createCallServiceClient, createClient, defineRoutes, step, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}
const json = args.includes('--json')
const children = option('--children', 1000)
const steps = option('--steps', 1000)
const runs = option('--runs', 5)
const large = option('--large', 10_000)
const largeRuns = option('--large-runs', 3)
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}

const client = createClient<{ noop: { args: [number]; output: number } }>({ noop: 1 })
const routes = defineRoutes({
  noop: {
    source: 'bench/coroutine/run.ts',
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    handler: (n: number) => n,
  },
  fanout: {
    source: 'bench/coroutine/run.ts',
    input: tupleSchema([Type.Integer({ minimum: 0 })]),
    output: Type.Number(),
    handler: async (n: number) => {
      const values = await all(Array.from({ length: n }, (_, i) => client.noop.call(i)))
      return values.reduce((a, b) => a + b, 0)
    },
  },
  steps: {
    source: 'bench/coroutine/run.ts',
    input: tupleSchema([Type.Integer({ minimum: 0 })]),
    output: Type.Number(),
    handler: async (n: number) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum += await step(`step ${i}`, () => i)
      return sum + (await client.noop.call(0))
    },
  },
})

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-coroutine-'))
const scheduler = await startScheduler({ dbPath: join(folder, 'dispatch.db'), port: 0 })
const app = Fastify({ logger: false })
let journalBytes = 0
// The journal travels in each Poll's coroutineState (base64): keep the largest one's decoded size.
app.addHook('onSend', async (_request, _reply, payload) => {
  if (typeof payload === 'string' && payload.startsWith('{"status":"STATUS_OK","poll"')) {
    const state = (JSON.parse(payload) as { poll: { coroutineState?: string } }).poll.coroutineState ?? ''
    journalBytes = Math.max(journalBytes, Buffer.from(state, 'base64').length)
  }
  return payload
})
await app.register(dispatchPlugin, {
  routes,
  verificationKey: scheduler.verificationKeyPem,
  verifyOffThread: args.includes('--verify-off-thread'),
  endpointUrl: () => app.listeningOrigin,
})
const endpoint = await app.listen({ host: '127.0.0.1', port: 0 })
const parent = createClient<{ fanout: { args: [number]; output: number }; steps: { args: [number]; output: number } }>(
  { fanout: 1, steps: 1 },
  { endpoint, apiUrl: scheduler.url, apiKey: scheduler.apiKey },
)
const calls = createCallServiceClient({ apiUrl: scheduler.url, apiKey: scheduler.apiKey })

/** Runs `fn(n)` `runs` times after a warm-up: the median wall time and journal size. */
async function measure(
  fn: 'fanout' | 'steps',
  n: number,
  what: string,
  runs: number,
): Promise<{ wall_ms: number; journal_bytes: number }> {
  const expected = (n * (n - 1)) / 2
  const walls: number[] = []
  const journals: number[] = []
  log(`${what}, ${runs} runs (+1 warm-up), SQLite synchronous=FULL`)
  log('run  wall ms  journal bytes')
  for (let run = 0; run <= runs; run++) {
    journalBytes = 0
    const started = performance.now()
    const id = await parent[fn](n)
    let answer = await calls.wait(id, '60s')
    while (!answer.done) answer = await calls.wait(id, '60s')
    const wall = performance.now() - started
    if (answer.call.state !== 'succeeded' || answer.call.output?.value !== expected) {
      throw new Error(`${fn} did not return the sum: ${JSON.stringify(answer.call)}`)
    }
    log(
      `${run === 0 ? 'warm' : String(run).padStart(4)}  ${wall.toFixed(0).padStart(7)}  ${String(journalBytes).padStart(13)}`,
    )
    if (run > 0) {
      walls.push(wall)
      journals.push(journalBytes)
    }
  }
  return { wall_ms: Math.round(median(walls)), journal_bytes: median(journals) }
}

try {
  const fanout = await measure('fanout', children, `fan-out/gather of ${children} no-op children`, runs)
  log(`median: ${fanout.wall_ms} ms (target <= 1000 ms), journal ${fanout.journal_bytes} bytes`)
  let big: { wall_ms: number; journal_bytes: number } | undefined
  if (large > 0) {
    big = await measure('fanout', large, `fan-out/gather of ${large} no-op children`, largeRuns)
    log(`median: ${big.wall_ms} ms (target <= 3000 ms), journal ${big.journal_bytes} bytes (target <= 2 MB)`)
  }
  const stepped = await measure('steps', steps, `a coroutine of ${steps} durable steps and one call`, runs)
  log(`median: ${stepped.wall_ms} ms (target <= 300 ms), journal ${stepped.journal_bytes} bytes`)
  const summary = {
    children,
    ...fanout,
    ...(big === undefined
      ? {}
      : { large_children: large, large_wall_ms: big.wall_ms, large_journal_bytes: big.journal_bytes }),
    steps,
    steps_wall_ms: stepped.wall_ms,
    steps_journal_bytes: stepped.journal_bytes,
  }
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`)
} finally {
  await app.close()
  await scheduler.close()
  await rm(folder, { recursive: true, force: true })
}
