import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/** The scripts test/compileScripts.ts compiles once per test run (paths from the repository root). */
export const COMPILED_SCRIPTS = [
  'cli/main.ts',
  'test/scheduler/fixtures/schedulerProcess.ts',
  'test/scheduler/fixtures/coroutineEndpoint.ts',
  'test/scheduler/fixtures/signalEndpoint.ts',
  'test/scheduler/fixtures/stepEndpoint.ts',
  'test/scheduler/multinodeNode.ts',
  'test/scheduler/fixtures/scheduleProcess.ts',
  'test/faults/fixtures/endpointProcess.ts',
]

/** The variable naming the folder of the compiled scripts, set by the global setup. */
export const COMPILED_SCRIPTS_DIR = 'DISPATCH_TEST_COMPILED_SCRIPTS'

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/**
 * The node arguments that run `script` (a TypeScript file of the repository, absolute or from its
 * root): its compiled copy when the test run made one, otherwise the source under tsx (outside
 * vitest, or a script not in {@link COMPILED_SCRIPTS}).
 */
export function scriptCommand(script: string): string[] {
  const fromRoot = isAbsolute(script) ? relative(repoRoot, script) : script
  const dir = process.env[COMPILED_SCRIPTS_DIR]
  if (dir && COMPILED_SCRIPTS.includes(fromRoot)) {
    const compiled = join(dir, fromRoot.replace(/\.ts$/, '.mjs'))
    if (existsSync(compiled)) return [compiled]
  }
  return ['--import', tsxLoader, join(repoRoot, fromRoot)]
}
