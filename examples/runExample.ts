/**
 * Runs an example application (its `main.ts`) under `dispatch run`, with a fresh database in a
 * temporary folder and free ports (`--port 0`; `dispatch run` picks the app's), so it works on any
 * machine and leaves nothing behind. A user's own project would run `npx dispatch run -- node dist/main.js`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Runs `main` (a path from the repository root) under `dispatch run`, with `runFlags` given to
 * `dispatch run` (`--schedules FILE`: the repository root has no schedules of its own); resolves to
 * its exit code.
 */
export async function runExample(main: string, runFlags: readonly string[] = []): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'dispatch-example-'))
  const tsx = [process.execPath, '--import', 'tsx']
  const child = spawn(
    tsx[0]!,
    [
      ...tsx.slice(1),
      'cli/main.ts',
      'run',
      '--db',
      join(dir, 'dispatch.db'),
      '--port',
      '0',
      ...runFlags,
      '--',
      ...tsx,
      main,
    ],
    { cwd: root, stdio: 'inherit' },
  )
  const code = await new Promise<number>((resolve) => child.once('exit', (status) => resolve(status ?? 1)))
  rmSync(dir, { recursive: true, force: true })
  return code
}
