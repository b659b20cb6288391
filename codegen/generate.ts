import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { dspError } from 'dispatch-functions/protocol'
import { glob } from 'tinyglobby'
import { emitClient } from './emitClient.js'
import { emitRoutes } from './emitRoutes.js'
import { emitSchedules, SCHEDULES_FILE, SCHEDULES_MARKER } from './emitSchedules.js'
import { BANNER } from './emitShared.js'
import { type DispatchConfig, type LoadedConfig, loadConfig } from './loadConfig.js'
import { formatSkipped } from './model/formatDiagnostic.js'
import type { Diagnostic, FunctionModel, Scanner, SkippedFunction } from './model/model.js'

/** One generated file and how it compares with the disk. */
export interface GeneratedFile {
  /** Relative to the package root, with `/` separators. */
  readonly path: string
  readonly content: string
  /** `written`: its bytes changed and it was written; `stale`: they differ and `check` left the disk alone. */
  readonly state: 'unchanged' | 'written' | 'stale'
}

/** What one generation found and did. */
export interface GenerateResult {
  readonly config: DispatchConfig
  readonly functions: readonly FunctionModel[]
  /** Empty when there are diagnostics: nothing is generated from code with errors. */
  readonly files: readonly GeneratedFile[]
  /** Every problem found, sorted by place; any of them means exit 1 and nothing written. */
  readonly diagnostics: readonly Diagnostic[]
  /** Exported functions passed over as ordinary code, and why. */
  readonly skipped: readonly SkippedFunction[]
  /** Generated files in `out` that no longer belong (removed, unless `check`). */
  readonly orphaned: readonly string[]
  /** How many function files the globs matched. */
  readonly fileCount: number
  /** Absolute paths of every file the model was built from (function files and schema files). */
  readonly dependencies: readonly string[]
  /** How many files this run parsed: all of them at first, then only the changed ones. */
  readonly parsed: number
  readonly durationMs: number
  /** True when there are no diagnostics and, with `check`, nothing is stale or orphaned. */
  readonly ok: boolean
}

export interface GeneratorOptions {
  /** The package root: where dispatch.config.json or package.json is. */
  readonly cwd: string
  /** Overrides the config file. */
  readonly config?: DispatchConfig
}

export interface RunOptions {
  /** Compare with the disk instead of writing. */
  readonly check?: boolean
  /** Absolute paths changed since the previous run (watch mode); omitted: everything is re-read. */
  readonly changed?: ReadonlySet<string>
  /** Glob again for added or removed files (default true; watch mode skips it for plain edits). */
  readonly reglob?: boolean
}

/** A generator that keeps its parsed files between runs, for watch mode. */
export interface Generator {
  readonly cwd: string
  readonly config: DispatchConfig
  run(options?: RunOptions): Promise<GenerateResult>
}

const GENERATED_NAMES = ['client.gen.ts', 'routes.gen.ts']

async function findFunctionFiles(cwd: string, config: DispatchConfig): Promise<string[]> {
  const files = await glob([...config.functions], {
    cwd,
    absolute: true,
    ignore: [`${config.out}/**`, '**/*.d.ts', '**/node_modules/**'],
  })
  return files.map((file) => resolve(file)).sort()
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Generated files in `out` (`*.gen.ts` with the banner, a marked schedules file) not among `expected`. */
function findOrphans(cwd: string, out: string, expected: readonly string[]): string[] {
  let names: string[]
  try {
    names = readdirSync(join(cwd, out))
  } catch {
    return []
  }
  const generatedBefore = (name: string) => {
    const text = readOrUndefined(join(cwd, out, name))
    return name === SCHEDULES_FILE ? text?.includes(SCHEDULES_MARKER) === true : text?.startsWith(BANNER) === true
  }
  return names
    .filter((name) => (name.endsWith('.gen.ts') || name === SCHEDULES_FILE) && !expected.includes(name))
    .filter(generatedBefore)
    .map((name) => `${out}/${name}`)
    .sort()
}

/** Where the config came from, as a person would look for it. */
function configSource(loaded: LoadedConfig | undefined): string {
  if (loaded === undefined) return 'the config passed to the generator'
  if (loaded.source === 'package.json') return 'package.json "dispatch"'
  return loaded.source ?? 'the default globs: there is no dispatch.config.json nor a "dispatch" key in package.json'
}

/** Thrown when a run finds no dispatch function: writing an empty client would replace the real one. */
function noFunctions(
  cwd: string,
  config: DispatchConfig,
  source: string,
  files: number,
  skipped: readonly SkippedFunction[],
): never {
  const globs = config.functions.map((glob) => JSON.stringify(glob)).join(', ')
  const where = `${globs} (${source})`
  const found =
    files === 0
      ? `no file matches ${where}`
      : `${files} file${files === 1 ? '' : 's'} match ${where}, but none exports a dispatch function` +
        (skipped.length > 0 ? `; passed over:\n${skipped.slice(0, 10).map(formatSkipped).join('\n')}` : '')
  throw dspError('DSP1017', `no dispatch functions found in ${cwd}: ${found}`, {
    hint:
      'export a function whose parameters are typed `Static<typeof Schema>` from a file the "functions" globs match ' +
      '(dispatch.config.json: { "functions": ["src/**/*.ts"], "out": "src/dispatch.gen" }; run from the package root ' +
      'or pass --cwd), or scaffold a project with `npx dispatch init`',
  })
}

/** Creates a generator for the package at `cwd`; ts-morph loads on the first run. */
export function createGenerator(options: GeneratorOptions): Generator {
  const cwd = resolve(options.cwd)
  const loaded = options.config === undefined ? loadConfig(cwd) : undefined
  const config = options.config ?? loaded!.config
  let scanner: Scanner | undefined
  let files: string[] | undefined

  return {
    cwd,
    config,
    async run(run: RunOptions = {}): Promise<GenerateResult> {
      const started = performance.now()
      if (!scanner) {
        // The parser (ts-morph's TypeScript) is heavy to load; only generation needs it.
        const { SyntaxScanner } = await import('./scanner/syntaxScanner.js')
        scanner = new SyntaxScanner()
      }
      if (!files || run.reglob !== false) files = await findFunctionFiles(cwd, config)
      const scan = scanner.scan({ root: cwd, files, ...(run.changed ? { changed: run.changed } : {}) })
      const base = {
        config,
        functions: scan.functions,
        diagnostics: scan.diagnostics,
        skipped: scan.skipped,
        fileCount: files.length,
        dependencies: scan.dependencies,
        parsed: scan.parsed,
      }
      if (scan.diagnostics.length > 0) {
        return { ...base, files: [], orphaned: [], durationMs: performance.now() - started, ok: false }
      }
      if (scan.functions.length === 0) {
        noFunctions(cwd, config, configSource(loaded), files.length, scan.skipped)
      }
      const schedules = emitSchedules(scan.functions)
      const contents = [emitClient(scan.functions, config.out), emitRoutes(scan.functions, config.out)]
      // The schedules file is written only when a function declares `@schedule`.
      const names = schedules === undefined ? GENERATED_NAMES : [...GENERATED_NAMES, SCHEDULES_FILE]
      if (schedules !== undefined) contents.push(schedules)
      const generated: GeneratedFile[] = names.map((name, i) => {
        const path = `${config.out}/${name}`
        const content = contents[i]!
        if (readOrUndefined(join(cwd, path)) === content) return { path, content, state: 'unchanged' }
        if (run.check) return { path, content, state: 'stale' }
        mkdirSync(join(cwd, config.out), { recursive: true })
        writeFileSync(join(cwd, path), content)
        return { path, content, state: 'written' }
      })
      const orphaned = findOrphans(cwd, config.out, names)
      if (!run.check) for (const path of orphaned) rmSync(join(cwd, path))
      const ok = !run.check || (orphaned.length === 0 && generated.every((file) => file.state === 'unchanged'))
      return { ...base, files: generated, orphaned, durationMs: performance.now() - started, ok }
    },
  }
}

/**
 * Generates `client.gen.ts` and `routes.gen.ts` for the package at `cwd`, writing only files
 * whose bytes change; with `check`, compares with the disk and writes nothing.
 *
 * @example
 * ```ts
 * const result = await generate({ cwd: 'examples/quickstart', check: true })
 * if (!result.ok) console.error(result.diagnostics.map(formatDiagnostic).join('\n'))
 * ```
 */
export async function generate(options: GeneratorOptions & { readonly check?: boolean }): Promise<GenerateResult> {
  return createGenerator(options).run(options.check ? { check: true } : {})
}
