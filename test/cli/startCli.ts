import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { scriptCommand } from '../scriptCommand.js'
import { repoRoot } from './runCli.js'

/** `--import` this to run TypeScript under tsx from any folder (a bare `tsx` resolves from the cwd). */
export const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

/** A `dispatch` command left running in the background, with its output so far. */
export interface RunningCli {
  readonly child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once stderr matches `pattern`; rejects when the command exits first or after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** Resolves to the exit code once the command exits by itself (rejects after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<number | null>
  /** Sends SIGTERM and resolves to the exit code (forced with SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>
}

/** Starts `dispatch <args>` from the sources as a real child process and returns while it runs. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot): RunningCli {
  const child = spawn(process.execPath, [...scriptCommand('cli/main.ts'), ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const listeners = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    for (const listener of listeners) listener()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stderr)
          if (match) {
            done()
            resolve(match)
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${stderr}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        void exited.then((code) => {
          if (listeners.has(check)) {
            done()
            reject(new Error(`dispatch ${args.join(' ')} exited (${code}) before ${pattern}:\n${stderr}`))
          }
        })
        check()
      }),
    exited: (timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`dispatch ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stderr}`))
        }, timeoutMs)
        void exited.then((code) => {
          clearTimeout(timer)
          resolve(code)
        })
      }),
    stop: async (timeoutMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
