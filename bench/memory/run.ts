/**
 * `npm run bench:memory`: does the scheduler's memory stay flat over a long run under overload?
 * The scheduler runs alone in a child process (bench/memory/schedulerProcess.ts) on SQLite; the
 * endpoint (bench/e2e/endpoint.ts: the real dispatch plugin, signature check and validation on) in
 * another; this process dispatches batches of 1,000 no-op calls from 4 clients as fast as they are
 * accepted, so the backlog grows until back-pressure answers 429 (clients then wait Retry-After).
 * Every `--every` seconds the scheduler runs a full GC and reports its memory. The table shows RSS
 * and heap after GC with the calls accepted, completed and refused; the slopes are least-squares
 * fits over the samples after the warm-up (the first quarter). Not a test: the figures go to
 * bench/RESULTS.md.
 *
 * Flags: `--seconds S` (default 240), `--every S` (default 10), `--max-unfinished N` (the
 * back-pressure bound, default 100,000 so that it engages within the run), `--json` (one line).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}
const json = args.includes('--json')
const seconds = option('--seconds', 240)
const every = option('--every', 10)
const maxUnfinished = option('--max-unfinished', 100_000)
const BATCH = 1000
const CLIENTS = 4
const root = fileURLToPath(new URL('../..', import.meta.url))
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`)
}
const mb = (bytes: number) => bytes / 1024 / 1024

interface Sample {
  readonly atS: number
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly unfinished: number
  readonly accepted: number
  readonly completed: number
  readonly refused: number
}

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const end = out.indexOf('\n')
      if (end === -1) return
      child.stdout!.off('data', onData)
      resolve(out.slice(0, end))
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)))
  })
}

const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-memory-'))
const scheduler = fork(join(root, 'bench/memory/schedulerProcess.ts'), [], {
  cwd: root,
  execArgv: ['--expose-gc', '--import', 'tsx'],
  env: { ...process.env, BENCH_DB: join(folder, 'memory.db'), BENCH_MAX_UNFINISHED: String(maxUnfinished) },
  stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
})
let endpointProcess: ChildProcess | undefined
let stopping = false
try {
  const { url, apiKey, verificationKeyPem } = JSON.parse(await firstLine(scheduler, 'scheduler')) as {
    url: string
    apiKey: string
    verificationKeyPem: string
  }
  endpointProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/e2e/endpoint.ts'], {
    cwd: root,
    env: { ...process.env, DISPATCH_VERIFICATION_KEY: verificationKeyPem },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const endpoint = `http://127.0.0.1:${Number(await firstLine(endpointProcess, 'endpoint'))}`
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }
  const body = JSON.stringify({
    calls: Array.from({ length: BATCH }, () => ({
      endpoint,
      function: 'noop',
      input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [] },
    })),
  })
  let accepted = 0
  let refused = 0
  const client = async () => {
    while (!stopping) {
      const response = await fetch(`${url}/dispatch.sdk.v1.DispatchService/Dispatch`, { method: 'POST', headers, body })
      await response.arrayBuffer()
      if (response.status === 200) accepted += BATCH
      else if (response.status === 429) {
        refused++
        const wait = Number(response.headers.get('retry-after') ?? 1) * 1000
        await new Promise((resolve) => setTimeout(resolve, wait))
      } else throw new Error(`Dispatch answered HTTP ${response.status}: ${await response.text()}`)
    }
  }
  const sampleScheduler = () =>
    new Promise<NodeJS.MemoryUsage & { unfinished: number }>((resolve) => {
      scheduler.once('message', (message) => resolve(message as NodeJS.MemoryUsage & { unfinished: number }))
      scheduler.send('sample')
    })
  const completed = async () => ((await (await fetch(`${endpoint}/ran`)).json()) as { ran: number }).ran

  log(
    `bench:memory: ${seconds} s of overload (back-pressure at ${maxUnfinished.toLocaleString('en-US')} unfinished calls), a sample every ${every} s`,
  )
  log('')
  log('|      s | RSS MB | heap MB | external MB | unfinished | accepted | completed | 429s |')
  log('| -----: | -----: | ------: | ----------: | ---------: | -------: | --------: | ---: |')
  const started = performance.now()
  const clients = Array.from({ length: CLIENTS }, client)
  const samples: Sample[] = []
  const take = async () => {
    const m = await sampleScheduler()
    const sample: Sample = {
      atS: (performance.now() - started) / 1000,
      rss: mb(m.rss),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      unfinished: m.unfinished,
      accepted,
      completed: await completed(),
      refused,
    }
    samples.push(sample)
    const cell = (x: number, width: number, digits = 0) => x.toFixed(digits).padStart(width)
    log(
      `| ${cell(sample.atS, 6)} | ${cell(sample.rss, 6, 1)} | ${cell(sample.heapUsed, 7, 1)} | ${cell(sample.external, 11, 1)} | ${cell(sample.unfinished, 10)} | ${cell(sample.accepted, 8)} | ${cell(sample.completed, 9)} | ${cell(sample.refused, 4)} |`,
    )
  }
  await take()
  for (let next = every; next <= seconds; next += every) {
    const wait = started + next * 1000 - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    await take()
  }
  stopping = true
  await Promise.all(clients)

  // Slopes over the samples after the warm-up (the backlog fills and the heap settles first).
  const steady = samples.filter((s) => s.atS >= seconds / 4)
  const perMinute = (pick: (s: Sample) => number) => slope(steady.map((s) => [s.atS / 60, pick(s)] as const))
  const rssSlope = perMinute((s) => s.rss)
  const heapSlope = perMinute((s) => s.heapUsed)
  const last = samples.at(-1)!
  const result = {
    seconds,
    max_unfinished: maxUnfinished,
    accepted: last.accepted,
    completed: last.completed,
    refused_429: last.refused,
    rss_mb_start: Math.round(steady[0]!.rss),
    rss_mb_end: Math.round(last.rss),
    rss_mb_max: Math.round(Math.max(...samples.map((s) => s.rss))),
    heap_mb_start: Math.round(steady[0]!.heapUsed * 10) / 10,
    heap_mb_end: Math.round(last.heapUsed * 10) / 10,
    rss_mb_per_min: Math.round(rssSlope * 100) / 100,
    heap_mb_per_min: Math.round(heapSlope * 100) / 100,
  }
  log('')
  log(
    `after the warm-up (${steady.length} samples from ${Math.round(steady[0]!.atS)} s): RSS ${result.rss_mb_start} → ${result.rss_mb_end} MB (max ${result.rss_mb_max}), slope ${result.rss_mb_per_min} MB/min; heap after GC ${result.heap_mb_start} → ${result.heap_mb_end} MB, slope ${result.heap_mb_per_min} MB/min`,
  )
  log(
    `calls: ${result.accepted.toLocaleString('en-US')} accepted, ${result.completed.toLocaleString('en-US')} completed, ${result.refused_429.toLocaleString('en-US')} batches refused with 429`,
  )
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  stopping = true
  endpointProcess?.kill()
  scheduler.disconnect()
  await new Promise((resolve) => scheduler.once('exit', resolve))
  await rm(folder, { recursive: true, force: true })
}
