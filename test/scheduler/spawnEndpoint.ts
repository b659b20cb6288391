import { type ChildProcess, spawn } from 'node:child_process'
import { repoRoot } from '../faults/processes.js'
import { scriptCommand } from '../scriptCommand.js'

/** An endpoint served by a child process (a fixture that prints `{"url": ...}` once it listens). */
export interface EndpointChild {
  readonly process: ChildProcess
  readonly url: string
}

/** Starts `fixture` (a path from the repository root, see test/scriptCommand.ts) with `env`; resolves once it serves. */
export function spawnEndpoint(fixture: string, env: Record<string, string>): Promise<EndpointChild> {
  const child = spawn(process.execPath, scriptCommand(fixture), {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line !== undefined) resolve({ process: child, url: (JSON.parse(line) as { url: string }).url })
    })
    child.once('exit', (code, signal) =>
      reject(new Error(`endpoint process exited (${code ?? signal}) before it served`)),
    )
  })
}
