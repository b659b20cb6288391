import { statSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { DispatchError, dspError } from 'dispatch-functions/protocol'
import type { GenerateResult } from '../../codegen/index.js'
import { UsageError } from '../usageError.js'

interface GenFlags {
  cwd: string
  check?: boolean
  watch?: boolean
  verbose?: boolean
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** The command that regenerates, as a user would type it from where they are. */
function fixCommand(cwd: string): string {
  const dir = relative(process.cwd(), cwd)
  return dir === '' ? 'npx dispatch gen' : `npx dispatch gen --cwd ${dir}`
}

function summary(result: GenerateResult): string {
  const written = result.files.filter((file) => file.state === 'written').length
  const what = written === 0 ? 'up to date' : `${plural(written, 'file')} written`
  return (
    `${plural(result.functions.length, 'function')} in ${plural(result.fileCount, 'file')} → ` +
    `${result.config.out} (${what}) in ${Math.round(result.durationMs)} ms`
  )
}

/** With --verbose: every exported function passed over as ordinary code, and why. */
async function printSkipped(result: GenerateResult, verbose: boolean): Promise<void> {
  if (!verbose || result.skipped.length === 0) return
  const { formatSkipped } = await import('../../codegen/index.js')
  const lines = result.skipped.map(formatSkipped).join('\n')
  process.stdout.write(`dispatch gen: passed over ${plural(result.skipped.length, 'exported function')}:\n${lines}\n`)
}

/** Prints diagnostics to stderr; true when there were any. */
async function printDiagnostics(result: GenerateResult): Promise<boolean> {
  if (result.diagnostics.length === 0) return false
  const { formatDiagnostic } = await import('../../codegen/index.js')
  for (const diagnostic of result.diagnostics) process.stderr.write(`${formatDiagnostic(diagnostic)}\n\n`)
  process.stderr.write(`dispatch gen: ${plural(result.diagnostics.length, 'error')}; nothing written\n`)
  return true
}

async function once(cwd: string, check: boolean, verbose: boolean): Promise<void> {
  // The generator (and ts-morph behind it) loads only when this command runs.
  const { generate } = await import('../../codegen/index.js')
  const result = await generate({ cwd, check })
  await printSkipped(result, verbose)
  if (await printDiagnostics(result)) {
    process.exitCode = 1
    return
  }
  if (check && !result.ok) {
    const lines = [
      ...result.files.filter((file) => file.state === 'stale').map((file) => `  stale:    ${file.path}`),
      ...result.orphaned.map((path) => `  orphaned: ${path}`),
    ]
    throw dspError('DSP1013', `generated files are out of date in ${cwd}:\n${lines.join('\n')}`, {
      hint: `run: ${fixCommand(cwd)}`,
    })
  }
  process.stdout.write(`dispatch gen: ${check ? 'checked ' : ''}${summary(result)}\n`)
}

async function watch(cwd: string, verbose: boolean): Promise<void> {
  const { watchFunctions } = await import('../../codegen/index.js')
  const report = async (result: GenerateResult) => {
    await printSkipped(result, verbose)
    const parsed = `${plural(result.parsed, 'file')} parsed`
    if (!(await printDiagnostics(result))) process.stdout.write(`dispatch gen: ${summary(result)}, ${parsed}\n`)
  }
  const watcher = await watchFunctions({
    cwd,
    onResult: (result) => void report(result),
    onError: (error) => {
      const text = error instanceof DispatchError ? error.format() : String(error)
      process.stderr.write(`dispatch gen: ${text}\n`)
    },
  })
  process.stdout.write('dispatch gen: watching for changes (Ctrl-C to stop)\n')
  await new Promise<void>((done) => {
    const stop = () => {
      watcher.close()
      done()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

/** Registers `dispatch gen [--cwd DIR] [--check] [--watch] [--verbose]`. */
export function registerGen(program: Command): void {
  program
    .command('gen')
    .description('generate the typed client and the route table from TypeBox-typed exported functions')
    .option('--cwd <dir>', 'the package root (where dispatch.config.json or package.json is)', '.')
    .option('--check', 'compare the generated files with the disk; exit 1 when they are out of date')
    .option('--watch', 'regenerate whenever a function or schema file changes')
    .option('--verbose', 'also list every exported function passed over as ordinary code, and why')
    .action(async (flags: GenFlags) => {
      const cwd = resolve(flags.cwd)
      if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
        throw new UsageError('DSP1014', `--cwd ${flags.cwd} is not a directory`, 'give the package root folder')
      }
      if (flags.check && flags.watch) {
        throw new UsageError('DSP1014', '--check and --watch cannot be combined', 'use one of them')
      }
      if (flags.watch) await watch(cwd, flags.verbose === true)
      else await once(cwd, flags.check === true, flags.verbose === true)
    })
}
