import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'
import type { TestProject } from 'vitest/node'
import { COMPILED_SCRIPTS, COMPILED_SCRIPTS_DIR } from './scriptCommand.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/**
 * Vitest's global setup: compiles the CLI and the scheduler/endpoint processes the tests spawn from
 * the sources into plain JavaScript once per run, so each spawn starts node on that instead of
 * loading tsx and transforming every file again (most of a CLI test's time went there).
 * The output lives under node_modules/.cache so the packages resolve from the repository's
 * node_modules as from the sources; it is rebuilt when watch mode reruns the tests.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const base = join(repoRoot, 'node_modules/.cache/dispatch-test-scripts')
  mkdirSync(base, { recursive: true })
  removeLeftovers(base)
  const outdir = mkdtempSync(join(base, 'run-'))
  await compile(outdir)
  project.onTestsRerun(() => compile(outdir))
  process.env[COMPILED_SCRIPTS_DIR] = outdir
  return () => rmSync(outdir, { recursive: true, force: true })
}

/** Folders of runs that were killed before their teardown (a day old: no run still uses them). */
function removeLeftovers(base: string): void {
  for (const name of readdirSync(base)) {
    const path = join(base, name)
    if (Date.now() - statSync(path).mtimeMs > 24 * 3600_000) rmSync(path, { recursive: true, force: true })
  }
}

async function compile(outdir: string): Promise<void> {
  await build({
    entryPoints: COMPILED_SCRIPTS.map((script) => join(repoRoot, script)),
    outbase: repoRoot,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // One chunk per lazily imported part: the CLI still loads ts-morph or the scheduler only when a
    // command needs them, as under tsx.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The packages stay imports (resolved from node_modules); the repository's own package names go
    // to the sources through tsconfig.json's paths, as under tsx.
    packages: 'external',
    tsconfig: join(repoRoot, 'tsconfig.json'),
    logLevel: 'error',
    plugins: [ownUrl],
  })
}

/**
 * Keeps each module's `import.meta.url` pointing at its source file: the CLI finds its
 * package.json, the dashboard's assets and ts-morph relative to it.
 */
const ownUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }))
  },
}
