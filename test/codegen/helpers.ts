import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'
import { scriptCommand } from '../scriptCommand.js'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const fixtures = join(repoRoot, 'test/fixtures/codegen')

// Temporary projects live under node_modules/.cache so `typebox` and `dispatch-functions`
// resolve from them exactly as from a fixture in the repository.
const scratch = join(repoRoot, 'node_modules/.cache/dispatch-codegen-tests')

/** A fresh empty folder for one test; removed by {@link cleanup}. */
export function tempDir(): string {
  mkdirSync(scratch, { recursive: true })
  return mkdtempSync(join(scratch, 'case-'))
}

/** Copies a fixture project into a fresh temporary folder. */
export function copyFixture(name: string): string {
  const dir = tempDir()
  cpSync(join(fixtures, name), dir, { recursive: true })
  return dir
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `dispatch ...args` (cli/main.ts, see test/scriptCommand.ts) from the repository root. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...scriptCommand('cli/main.ts'), ...args], { cwd: repoRoot })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Polls `probe` until it returns a value or the deadline passes. */
export async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * For a test file of flow-control tags: a maker of projects, each the `supported` fixture with one
 * more file of functions (src/functions/flow.ts, these lines), removed after each test.
 */
export function flowTagProjects(): (source: readonly string[]) => string {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) cleanup(dir)
  })
  return (source) => {
    const dir = copyFixture('supported')
    dirs.push(dir)
    writeFileSync(join(dir, 'src/functions/flow.ts'), [...source, ''].join('\n'))
    return dir
  }
}
