import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DispatchError, dspError } from 'dispatch-functions/protocol'
import { readKeyFile } from '../scheduler/internal.js'

/**
 * What a running `dispatch run` records beside its database (`<db>.run.json`, mode 0600, removed
 * when it exits) so that `dispatch env` in another terminal can give scripts the same variables
 * its application gets. It holds the API key, hence the mode, like the key files beside it.
 */
export interface RunState {
  readonly pid: number
  readonly apiUrl: string
  readonly apiKey: string
  readonly endpointUrl: string
}

/** The state file of the `dispatch run` that uses database `db`. */
export function runStatePath(db: string): string {
  return `${resolve(db)}.run.json`
}

/** Writes the state file atomically (a reader never sees half of it), readable by this user only. */
export function writeRunState(path: string, state: RunState): void {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(state)}\n`, { mode: 0o600 })
  renameSync(temporary, path)
}

/** Removes the state file if this process wrote it (another `dispatch run` may have replaced it). */
export function removeRunState(path: string): void {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunState>
    if (state.pid === process.pid) rmSync(path, { force: true })
  } catch {
    // Already gone or replaced by something unreadable: nothing of ours to remove.
  }
}

/** Reads the state of the `dispatch run` that uses database `db`; throws DSP4022/DSP4023 when there is none. */
export function readRunState(db: string): RunState {
  const path = runStatePath(db)
  const notRunning = (why: string) =>
    dspError('DSP4022', `no dispatch run is running with the database ${db}: ${why}`, {
      hint: 'start one in this folder (npx dispatch run -- <your app>), or pass the --db it runs with',
    })
  let text: string
  try {
    // Checked like a key file: its lines are meant for `eval`, and it holds the API key.
    text = readKeyFile(path, 'dispatch run state file')
  } catch (cause) {
    if (cause instanceof DispatchError) throw cause
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw notRunning(`${path} does not exist`)
    throw dspError('DSP4023', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code}`, {
      hint: 'run dispatch env as the user that runs dispatch run',
      cause,
    })
  }
  const state = parseState(text)
  if (state === undefined) {
    throw dspError('DSP4023', `${path} is not a state file written by dispatch run`, {
      hint: 'restart dispatch run: it writes the file again',
    })
  }
  if (!isAlive(state.pid)) throw notRunning(`the process that wrote ${path} (pid ${state.pid}) has exited`)
  return state
}

function parseState(text: string): RunState | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const v = value as Partial<Record<keyof RunState, unknown>>
  if (typeof value !== 'object' || value === null) return undefined
  if (!Number.isInteger(v.pid)) return undefined
  if (typeof v.apiUrl !== 'string' || typeof v.apiKey !== 'string' || typeof v.endpointUrl !== 'string')
    return undefined
  return value as RunState
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
