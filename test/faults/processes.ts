import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  type CallServiceClient,
  createCallServiceClient,
  currentCall,
  defineRoutes,
  TemporaryError,
  tupleSchema,
} from '../../runtime/index.js'
import type { CallInfo } from '../../schemas/callService.js'
import { scriptCommand } from '../scriptCommand.js'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'

/** A scheduler in its own process (test/scheduler/fixtures/schedulerProcess.ts). */
export interface SchedulerChild {
  readonly process: ChildProcess
  readonly url: string
  readonly apiKey: string
  readonly verificationKeyPem: string
  readonly calls: CallServiceClient
  /** Attempts this process found in flight at start-up (from its log). */
  released: number
}

/**
 * Starts a scheduler process on `dbPath` (keys kept beside it); `env` adds variables such as
 * DISPATCH_TEST_CRASH_AT. `script` is another scheduler process to run instead, e.g. a PostgreSQL
 * node (test/scheduler/multinodeNode.ts, with DISPATCH_TEST_DATABASE_URL and DISPATCH_TEST_SCHEMA).
 */
export function spawnScheduler(
  dbPath: string,
  env: Record<string, string> = {},
  script = 'test/scheduler/fixtures/schedulerProcess.ts',
): Promise<SchedulerChild> {
  const child = spawn(process.execPath, scriptCommand(script), {
    cwd: repoRoot,
    env: {
      ...process.env,
      DISPATCH_TEST_DB: dbPath,
      DISPATCH_API_KEY: '',
      DISPATCH_SIGNING_KEY: '',
      DISPATCH_TEST_CRASH_AT: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let released = 0
  let result: SchedulerChild | undefined
  let logs = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    logs += chunk.toString()
    const lines = logs.split('\n')
    logs = lines.pop() ?? ''
    for (const line of lines) {
      try {
        const parsed = JSON.parse(line) as { released?: number }
        if (typeof parsed.released === 'number') {
          released += parsed.released
          if (result) result.released = released
        }
      } catch {
        process.stderr.write(`${line}\n`)
      }
    }
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (result) return
      for (const line of out.split('\n').slice(0, -1)) {
        const parsed = JSON.parse(line) as { url?: string; apiKey: string; verificationKeyPem: string }
        if (parsed.url === undefined) continue
        result = {
          process: child,
          url: parsed.url,
          apiKey: parsed.apiKey,
          verificationKeyPem: parsed.verificationKeyPem,
          calls: createCallServiceClient({ apiUrl: parsed.url, apiKey: parsed.apiKey }),
          released,
        }
        resolve(result)
      }
    })
    child.once('exit', (code, signal) =>
      reject(new Error(`scheduler process exited (${code ?? signal}) before it served`)),
    )
  })
}

/** Resolves once the process has exited (by itself or by a crash point); SIGKILLs it if `kill`. */
export function exited(child: ChildProcess, kill = false): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode ?? child.exitCode)
    child.once('exit', (code, signal) => resolve(signal ?? code))
    if (kill) child.kill('SIGKILL')
  })
}

/** POSTs a Dispatch request; `undefined` when the connection failed (the process died). */
export async function dispatch(
  scheduler: SchedulerChild,
  calls: unknown[],
): Promise<{ status: number; body: any } | undefined> {
  try {
    const response = await fetch(scheduler.url + DISPATCH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` },
      body: JSON.stringify({ calls }),
    })
    return { status: response.status, body: await response.json() }
  } catch {
    return undefined
  }
}

/** Every call the scheduler knows, by id. */
export async function listAll(calls: CallServiceClient): Promise<Map<string, CallInfo>> {
  const all = new Map<string, CallInfo>()
  let cursor: string | undefined
  do {
    const page = await calls.list({ limit: 1000, ...(cursor ? { cursor } : {}) })
    for (const call of page.calls) all.set(call.dispatchId, call)
    cursor = page.nextCursor
  } while (cursor)
  return all
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** What the invariants found; every list must be empty. */
export interface InvariantReport {
  readonly accepted: number
  readonly completed: number
  readonly succeeded: number
  /** Accepted ids the scheduler no longer knows. */
  readonly lost: string[]
  /** Accepted calls not in a terminal state. */
  readonly notTerminal: string[]
  /** Calls reported succeeded whose function never returned (no effect recorded). */
  readonly okWithoutEffect: string[]
}

/**
 * Waits until every accepted call is terminal, then checks the fault suite's invariants: no
 * accepted id disappears, every accepted call reaches a terminal state, and every call reported OK
 * had its effect (the function returned) at least once.
 */
export async function checkInvariants(
  calls: CallServiceClient,
  accepted: ReadonlySet<string>,
  effectsNow: ReadonlyMap<string, number> | (() => ReadonlyMap<string, number>),
  timeoutMs = 120_000,
): Promise<InvariantReport> {
  let all = new Map<string, CallInfo>()
  try {
    await eventually(
      async () => {
        all = await listAll(calls)
        return [...accepted].every((id) => TERMINAL.has(all.get(id)?.state ?? '')) ? true : undefined
      },
      timeoutMs,
      'every accepted call terminal',
    )
  } catch {
    // Reported below, as calls that are not terminal.
  }
  // Effects are read after the calls settled: an effect recorded after the OK would be a violation too.
  const effects = typeof effectsNow === 'function' ? effectsNow() : effectsNow
  const lost = [...accepted].filter((id) => !all.has(id))
  const notTerminal = [...accepted].filter((id) => all.has(id) && !TERMINAL.has(all.get(id)!.state))
  const succeededIds = [...accepted].filter((id) => all.get(id)?.state === 'succeeded')
  const okWithoutEffect = succeededIds.filter((id) => (effects.get(id) ?? 0) === 0)
  return {
    accepted: accepted.size,
    completed: [...accepted].filter((id) => TERMINAL.has(all.get(id)?.state ?? '')).length,
    succeeded: succeededIds.length,
    lost,
    notTerminal,
    okWithoutEffect,
  }
}

/** FAULTS_FULL=1 (`npm run faults`): the full counts instead of the CI ones. */
export const FULL = process.env['FAULTS_FULL'] === '1'

/**
 * Opens a scheduler's SQLite file after its process is gone and lists what is inconsistent: the
 * integrity check, terminal calls still scheduled, pending calls never due, running calls without
 * a lease, idempotency keys pointing at no call. Empty: consistent.
 */
export async function storeInconsistencies(dbPath: string): Promise<string[]> {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(dbPath, { readonly: true })
  try {
    const problems: string[] = []
    const integrity = db.pragma('integrity_check', { simple: true })
    if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`)
    const count = (what: string, sql: string) => {
      const n = (db.prepare(sql).get() as { n: number }).n
      if (n > 0) problems.push(`${n} ${what}`)
    }
    count(
      'terminal calls still due',
      "SELECT COUNT(*) AS n FROM calls WHERE state IN ('succeeded', 'failed', 'cancelled') AND due_at IS NOT NULL",
    )
    count('pending calls never due', "SELECT COUNT(*) AS n FROM calls WHERE state = 'pending' AND due_at IS NULL")
    count(
      'running calls without a lease',
      "SELECT COUNT(*) AS n FROM calls WHERE state = 'running' AND lease_owner IS NULL",
    )
    count(
      'idempotency keys of no call',
      'SELECT COUNT(*) AS n FROM idempotency_keys k WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = k.dispatch_id)',
    )
    return problems
  } finally {
    db.close()
  }
}

/**
 * The `work` function of the kill scenarios: some calls take a moment (so kills land while attempts
 * are in flight), 20% fail temporarily, and each success records its effect (dispatch id → times run).
 */
export function flakyWorkRoutes(source: string, effects: Map<string, number>, onRun: () => void, slowMs: number) {
  return defineRoutes({
    work: {
      input: tupleSchema([{}]),
      output: {},
      source,
      handler: async (n: number) => {
        onRun()
        if (n % 5 === 0) await new Promise((resolve) => setTimeout(resolve, slowMs))
        if (Math.random() < 0.2) throw new TemporaryError('try again')
        const id = currentCall().dispatchId!
        effects.set(id, (effects.get(id) ?? 0) + 1)
        return n
      },
    },
  })
}
