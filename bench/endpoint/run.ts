/**
 * `npm run bench:endpoint`: throughput and latency of the Dispatch endpoint (signature check and
 * validation on) against a bare route that parses JSON and returns, for each adapter beside its
 * own framework (the Fastify plugin and bare Fastify; the node:http handler and bare node:http; it
 * again in Express and bare Express; the fetch handler in Hono on @hono/node-server and bare Hono),
 * each in its own server process, loaded by the same autocannon (c=50) in this process,
 * alternating rounds; then the endpoint's per-request overhead measured in-process.
 *
 * Flags: `--json` (one line), `--rounds N` (default 3), `--duration S` (seconds, default 5),
 * `--adapters LIST` (default `fastify,node,express,hono`; `fastify` alone is the old run),
 * `--off-thread` (also measure `verifyOffThread: true`), `--breakdown` (also the endpoint without
 * signature check, to show what the Ed25519 check costs), `--cpu-prof` (profile the endpoint server
 * into $TMPDIR/dispatch-bench-endpoint-prof/), `--batch N` (the batched overhead's calls per batch,
 * default 32), `--overhead-only` (skip the HTTP rounds: the in-process overheads alone).
 *
 * The batched overhead: one signed batch of N calls handled in-process, every answer line read,
 * divided by N (docs/protocol.md, "Batched delivery"); the per-call cost the scheduler's batches see.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { generateSigningKeyPair, parsePrivateKey, signRequest } from '../../runtime/signing/index.js'
import { RUN_PATH, RUN_REQUEST } from './benchRoutes.js'
import { measureBatchOverhead, measureOverhead } from './overhead.js'

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}
const json = flag('--json')
// Profiles go outside the repository: they are large and machine-specific.
const PROFILE_DIR = join(tmpdir(), 'dispatch-bench-endpoint-prof')
const rounds = option('--rounds', 3)
const duration = option('--duration', 5)
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}

type Adapter = 'fastify' | 'node' | 'express' | 'hono'
type Mode =
  | 'fastify'
  | 'endpoint'
  | 'endpoint-offthread'
  | 'endpoint-nosig'
  | 'node-bare'
  | 'node'
  | 'express-bare'
  | 'express'
  | 'hono-bare'
  | 'hono'
/** Each adapter's endpoint mode and its bare framework's, measured in the same run. */
const ADAPTERS: Record<Adapter, { readonly endpoint: Mode; readonly bare: Mode }> = {
  fastify: { endpoint: 'endpoint', bare: 'fastify' },
  node: { endpoint: 'node', bare: 'node-bare' },
  express: { endpoint: 'express', bare: 'express-bare' },
  hono: { endpoint: 'hono', bare: 'hono-bare' },
}
const adaptersIndex = args.indexOf('--adapters')
const adapters = (adaptersIndex === -1 ? 'fastify,node,express,hono' : args[adaptersIndex + 1]!)
  .split(',')
  .filter((name): name is Adapter => name in ADAPTERS)
if (!adapters.includes('fastify')) adapters.unshift('fastify')
const modes: Mode[] = adapters.flatMap((name) => [ADAPTERS[name].bare, ADAPTERS[name].endpoint])
if (flag('--off-thread')) modes.push('endpoint-offthread')
if (flag('--breakdown')) modes.push('endpoint-nosig')

const pair = generateSigningKeyPair()
const privateKey = parsePrivateKey(pair.privateKeyPem, 'bench signing key')
const body = JSON.stringify(RUN_REQUEST)

async function startServer(mode: Mode): Promise<{ child: ChildProcess; port: number }> {
  const nodeArgs = ['--import', 'tsx']
  if (flag('--cpu-prof') && mode !== 'fastify') nodeArgs.push('--cpu-prof', '--cpu-prof-dir', PROFILE_DIR)
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL('./server.ts', import.meta.url)), mode], {
    env: { ...process.env, DISPATCH_VERIFICATION_KEY: pair.publicKeyPem, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
  return { child, port: Number(String(chunk).trim()) }
}

interface Sample {
  rps: number
  p50: number
  p99: number
}

// The most requests per second a signed target is expected to serve here: that many signatures are
// made before each load, so the load generator does not sign while it measures.
const SIGNED_RPS_CEILING = 15_000

async function load(port: number, seconds: number, signed: boolean): Promise<Sample> {
  const authority = `127.0.0.1:${port}`
  // Signed here, as the scheduler does: a fixed body, a `created` inside the window, and a signature
  // of its own for every request (the endpoint refuses a replayed one). Made before the clock starts;
  // past the pool, requests are signed as they go.
  const sign = () => ({
    'content-type': 'application/json',
    ...signRequest({
      method: 'POST',
      url: `http://${authority}${RUN_PATH}`,
      headers: { 'content-type': 'application/json' },
      body,
      privateKey,
    }),
  })
  const pool = signed ? Array.from({ length: seconds * SIGNED_RPS_CEILING }, sign) : []
  let next = 0
  const result = await autocannon({
    url: `http://${authority}${RUN_PATH}`,
    method: 'POST',
    headers: sign(),
    body,
    connections: 50,
    duration: seconds,
    ...(signed
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                headers: next < pool.length ? pool[next++]! : sign(),
              }),
            },
          ],
        }
      : {}),
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`the benchmark saw ${result.non2xx} non-2xx answers and ${result.errors} errors`)
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const overheadOnly = flag('--overhead-only')
const samples = new Map<Mode, Sample[]>(modes.map((m) => [m, []]))
for (let round = 1; round <= (overheadOnly ? 0 : rounds); round++) {
  for (const mode of modes) {
    const { child, port } = await startServer(mode)
    try {
      const signed = !mode.endsWith('-bare') && mode !== 'fastify' && mode !== 'endpoint-nosig'
      await load(port, 1, signed) // warm-up: JIT, connections
      const sample = await load(port, duration, signed)
      samples.get(mode)!.push(sample)
      log(`round ${round} ${mode.padEnd(18)} ${Math.round(sample.rps)} rps  p50 ${sample.p50} ms  p99 ${sample.p99} ms`)
    } finally {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}

const summary = new Map(
  [...samples].map(([mode, list]) => [
    mode,
    { rps: median(list.map((s) => s.rps)), p50: median(list.map((s) => s.p50)), p99: median(list.map((s) => s.p99)) },
  ]),
)
const overhead = await measureOverhead()
const batched = await measureBatchOverhead(option('--batch', 32))
const batchFigures = {
  batch_calls: batched.calls,
  batch_overhead_us_per_call: Number(batched.perCallUs.toFixed(1)),
  batch_overhead_us_per_call_nosig: Number(batched.withoutVerifyPerCallUs.toFixed(1)),
}
const overheadLines = () => {
  log('per-request overhead, in-process, median:')
  log(`  verify + validate + run + encode: ${overhead.totalUs.toFixed(1)} µs (target <= 60)`)
  log(`  the same without signature check: ${overhead.withoutVerifyUs.toFixed(1)} µs`)
  log(`  one Ed25519 verification alone:   ${overhead.ed25519Us.toFixed(1)} µs`)
  log(
    `  a batch of ${batched.calls}, per call:          ${batched.perCallUs.toFixed(1)} µs (target <= 15); ` +
      `without signature check ${batched.withoutVerifyPerCallUs.toFixed(1)} µs`,
  )
}
if (overheadOnly) {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ overhead_us_p50: Number(overhead.totalUs.toFixed(1)), ...batchFigures })}\n`,
    )
  } else overheadLines()
  process.exit(0)
}
const endpoint = summary.get('endpoint')!
const baseline = summary.get('fastify')!
const ratio = endpoint.rps / baseline.rps
// Each adapter against its own bare framework, from the same run.
const ratios = Object.fromEntries(
  adapters.map((name) => {
    const own = summary.get(ADAPTERS[name].endpoint)!
    const bare = summary.get(ADAPTERS[name].bare)!
    return [
      name,
      { rps: Math.round(own.rps), bare_rps: Math.round(bare.rps), ratio: Number((own.rps / bare.rps).toFixed(3)) },
    ]
  }),
)

if (json) {
  process.stdout.write(
    `${JSON.stringify({
      rps: Math.round(endpoint.rps),
      baseline: 'fastify',
      baseline_rps: Math.round(baseline.rps),
      ratio: Number(ratio.toFixed(3)),
      overhead_us_p50: Number(overhead.totalUs.toFixed(1)),
      ...batchFigures,
      adapters: ratios,
    })}\n`,
  )
} else {
  log('')
  log(`medians of ${rounds} rounds of ${duration} s, autocannon c=50, Node ${process.version}`)
  log('| target | rps | p50 ms | p99 ms | ratio to bare Fastify |')
  log('|---|---|---|---|---|')
  for (const [mode, s] of summary) {
    log(`| ${mode} | ${Math.round(s.rps)} | ${s.p50} | ${s.p99} | ${(s.rps / baseline.rps).toFixed(2)} |`)
  }
  log('')
  log('| adapter | endpoint rps | bare framework rps | ratio to its bare framework |')
  log('|---|---|---|---|')
  for (const [name, r] of Object.entries(ratios)) log(`| ${name} | ${r.rps} | ${r.bare_rps} | ${r.ratio.toFixed(2)} |`)
  log('')
  overheadLines()
  log(`ratio ${ratio.toFixed(2)} (target >= 0.6)`)
  if (flag('--cpu-prof')) log(`CPU profiles of the endpoint server: ${PROFILE_DIR}`)
}
