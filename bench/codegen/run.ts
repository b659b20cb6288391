/**
 * `npm run bench:codegen [-- --json]`: a synthetic package of 1,000 dispatch functions over
 * 1,000 files. Cold generation runs in a child process (wall time from spawn to exit, peak RSS
 * from the child's own maxRSS), compiled to JavaScript as the installed CLI runs it (from dist/);
 * the same under tsx, as a checkout without a build runs it, is shown beside it. Watch-mode
 * regeneration is the time from editing one file to the regenerated files being written.
 * Prints medians.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type GenerateResult, watchFunctions } from '../../codegen/index.js'
import { functionSource, synthesize } from './synthesize.js'

const FUNCTIONS = 1000
const COLD_RUNS = 5
const WATCH_RUNS = 11
const json = process.argv.includes('--json')
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

interface ColdFigures {
  wallMs: number
  sinceStartMs: number
  generateMs: number
  maxRssKb: number
  cpuMs: number
  functions: number
  files: number
}

/**
 * Compiles the generator and coldRun.ts with the project's tsc into node_modules/.cache (where
 * ts-morph resolves), as `npm run build` compiles the CLI into dist/.
 */
function compileColdRun(): string {
  const out = join(repoRoot, 'node_modules/.cache/dispatch-bench-codegen')
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const tsconfig = join(out, 'tsconfig.json')
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(repoRoot, 'tsconfig.json'),
      compilerOptions: { noEmit: false, outDir: out, rootDir: repoRoot, paths: {} },
      files: [join(repoRoot, 'bench/codegen/coldRun.ts')],
      include: [],
    }),
  )
  const build = spawnSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', tsconfig], { encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`cannot compile the generator: ${build.stdout}${build.stderr}`)
  // Below node_modules, Node does not look further up for "type": "module".
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n')
  return join(out, 'bench/codegen/coldRun.js')
}

function coldRun(dir: string, command: readonly string[]): Promise<ColdFigures> {
  rmSync(join(dir, 'src/dispatch.gen'), { recursive: true, force: true })
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [...command, dir], { cwd: repoRoot })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.pipe(process.stderr)
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`cold run exited ${code}`))
      resolve({ wallMs: performance.now() - started, ...JSON.parse(out) })
    })
  })
}

async function watchRuns(dir: string): Promise<{ endToEnd: number[]; regenerate: number[] }> {
  let latest: GenerateResult | undefined
  const watcher = await watchFunctions({ cwd: dir, onResult: (result) => (latest = result) })
  const endToEnd: number[] = []
  const regenerate: number[] = []
  const client = join(dir, 'src/dispatch.gen/client.gen.ts')
  try {
    for (let edit = 1; edit <= WATCH_RUNS; edit++) {
      const marker = `Function 500, edit ${edit}.`
      const started = performance.now()
      writeFileSync(join(dir, 'src/functions/f500.ts'), functionSource(500, edit))
      const deadline = Date.now() + 10_000
      // Poll the generated file: the figure includes the file-system event and the write.
      while (!readFileSync(client, 'utf8').includes(marker)) {
        if (Date.now() > deadline) throw new Error('watch mode did not regenerate within 10 s')
        await new Promise((resolve) => setImmediate(resolve))
      }
      endToEnd.push(performance.now() - started)
      regenerate.push(latest?.durationMs ?? Number.NaN)
    }
  } finally {
    watcher.close()
  }
  return { endToEnd, regenerate }
}

const dir = mkdtempSync(join(tmpdir(), 'dispatch-bench-codegen-'))
try {
  synthesize(dir, FUNCTIONS)
  const compiled = [compileColdRun()]
  const viaTsx = ['--import', 'tsx', 'bench/codegen/coldRun.ts']
  const colds: ColdFigures[] = []
  const coldsTsx: ColdFigures[] = []
  for (let i = 0; i < COLD_RUNS; i++) {
    colds.push(await coldRun(dir, compiled))
    coldsTsx.push(await coldRun(dir, viaTsx))
  }
  const watch = await watchRuns(dir)
  const result = {
    functions: colds[0]!.functions,
    files: colds[0]!.files,
    cold_ms: Math.round(median(colds.map((c) => c.wallMs))),
    peak_rss_mb: Math.round(median(colds.map((c) => c.maxRssKb)) / 1024),
    watch_ms: Math.round(median(watch.endToEnd) * 10) / 10,
  }
  if (json) {
    // The documented one-line shape, `{"functions": 1000, ...}`; values are numbers only.
    process.stdout.write(`${JSON.stringify(result).replace(/":/g, '": ').replace(/,"/g, ', "')}\n`)
  } else {
    const rows: [string, string, string][] = [
      ['functions / files', `${result.functions} / ${result.files}`, ''],
      ['cold generation, wall (spawn to exit)', `${result.cold_ms} ms`, '<= 2000 ms'],
      ['  of which in generate()', `${Math.round(median(colds.map((c) => c.generateMs)))} ms`, ''],
      ['  CPU time (user + system)', `${Math.round(median(colds.map((c) => c.cpuMs)))} ms`, ''],
      ['cold generation under tsx, wall', `${Math.round(median(coldsTsx.map((c) => c.wallMs)))} ms`, ''],
      ['peak RSS (child maxRSS)', `${result.peak_rss_mb} MB`, '<= 400 MB'],
      ['watch: edit to files written', `${result.watch_ms} ms`, '<= 100 ms'],
      ['  of which regeneration', `${Math.round(median(watch.regenerate) * 10) / 10} ms`, ''],
    ]
    console.log(
      `codegen bench: medians of ${COLD_RUNS} cold runs and ${WATCH_RUNS} watch edits, Node ${process.version}`,
    )
    for (const [what, value, target] of rows) console.log(`${what.padEnd(40)} ${value.padStart(12)}   ${target}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
