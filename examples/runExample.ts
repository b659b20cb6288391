/**
 * Runs an example application (its `main.ts`) under `dispatch run`, with a fresh database in a
 * temporary folder and free ports, so it works on any machine and leaves nothing behind. A user's
 * own project would run `npx dispatch run -- node dist/main.js`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** A port that was free a moment ago, for the app's endpoint. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Runs `main` (a path from the repository root) under `dispatch run`; resolves to its exit code. */
export async function runExample(main: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'dispatch-example-'))
  const endpoint = `http://127.0.0.1:${await freePort()}`
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
      '--endpoint',
      endpoint,
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
