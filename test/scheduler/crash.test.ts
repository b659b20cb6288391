import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallServiceClient, currentCall, defineRoutes, TemporaryError, tupleSchema } from '../../runtime/index.js'
import { scriptCommand } from '../scriptCommand.js'
import { eventually, removeFolder, startEndpoint, tempFolder, value } from './helpers.js'

const TOTAL = 2000
const BATCH = 100
const KILLS = 4
/** Attempts that restarted schedulers found in flight (their start-up log says how many). */
let released = 0

interface Child {
  process: ChildProcess
  url: string
  apiKey: string
  verificationKeyPem: string
}

/** Starts the scheduler process and resolves once it printed its address. */
function spawnScheduler(dbPath: string): Promise<Child> {
  const child = spawn(process.execPath, scriptCommand('test/scheduler/fixtures/schedulerProcess.ts'), {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, DISPATCH_TEST_DB: dbPath, DISPATCH_API_KEY: '', DISPATCH_SIGNING_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // The scheduler logs JSON lines on stderr; its start-up line says how many attempts it found in flight.
  let logs = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    logs += chunk.toString()
    const lines = logs.split('\n')
    logs = lines.pop() ?? ''
    for (const line of lines) {
      try {
        const parsed = JSON.parse(line) as { released?: number }
        if (typeof parsed.released === 'number') released += parsed.released
      } catch {
        process.stderr.write(`${line}\n`)
      }
    }
  })
  return new Promise((resolve, reject) => {
    let out = ''
    let resolved = false
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (resolved) return
      for (const line of out.split('\n').slice(0, -1)) {
        const parsed = JSON.parse(line) as { url?: string }
        if (parsed.url !== undefined) resolved = true
        if (parsed.url !== undefined) resolve({ process: child, ...(parsed as Omit<Child, 'process'>) })
      }
    })
    child.once('exit', (code) => reject(new Error(`scheduler process exited with ${code} before it served`)))
  })
}

function kill(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve()
    child.process.once('exit', () => resolve())
    child.process.kill('SIGKILL')
  })
}

describe('crash safety', () => {
  let folder: string
  let current: Child | undefined
  const succeeded = new Set<string>()
  let runs = 0

  beforeAll(async () => {
    folder = await tempFolder()
  })
  afterAll(async () => {
    if (current) await kill(current)
    await removeFolder(folder)
  })

  it(`loses no accepted call when the scheduler is SIGKILLed ${KILLS} times during ${TOTAL} calls with 20% temporary failures`, async () => {
    const dbPath = join(folder, 'crash.db')
    current = await spawnScheduler(dbPath)
    const routes = defineRoutes({
      work: {
        input: tupleSchema([{}]),
        output: {},
        source: 'test/scheduler/crash.test.ts:1',
        handler: async (n: number) => {
          runs++
          // Some work takes a moment, so kills land while attempts are in flight.
          if (n % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 2))
          if (Math.random() < 0.2) throw new TemporaryError('try again')
          succeeded.add(currentCall().dispatchId!)
          return n
        },
      },
    })
    // The signing key is kept beside the database, so the endpoint's key holds across restarts.
    const { url: endpoint, app } = await startEndpoint(routes, current.verificationKeyPem)
    try {
      const accepted = new Set<string>()
      let restarts = 0
      const restart = async () => {
        await kill(current!)
        current = await spawnScheduler(dbPath)
        restarts++
      }

      // Dispatch in batches, with idempotency keys so a batch whose answer was lost to a kill can
      // be sent again without doubling calls. One kill lands in the middle of dispatching.
      for (let b = 0; b < TOTAL / BATCH; b++) {
        const calls = Array.from({ length: BATCH }, (_, i) => ({
          endpoint,
          function: 'work',
          input: value([b * BATCH + i]),
          idempotencyKey: `crash-${b * BATCH + i}`,
        }))
        const killing = b === 8 ? restart() : undefined
        for (let attempt = 1; ; attempt++) {
          try {
            const response = await fetch(`${current.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${current.apiKey}` },
              body: JSON.stringify({ calls }),
            })
            if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
            const { dispatchIds } = (await response.json()) as { dispatchIds: string[] }
            for (const id of dispatchIds) accepted.add(id)
            break
          } catch (error) {
            // Only a kill may interrupt a dispatch, and only the batch sent alongside it.
            if (killing === undefined || attempt > 20) throw error
            await killing
            await eventually(() => (current!.process.exitCode === null ? true : undefined))
          }
        }
        await killing
      }
      expect(accepted.size).toBe(TOTAL)

      // Kill again whenever more calls have succeeded, while deliveries are under way.
      for (let k = restarts; k < KILLS; k++) {
        const target = Math.min(TOTAL - 50, succeeded.size + 250)
        await eventually(() => (succeeded.size >= target ? true : undefined), 60_000)
        await restart()
      }
      expect(restarts).toBe(KILLS)

      // Every accepted call completes: on the endpoint, and as recorded by the scheduler.
      await eventually(() => ([...accepted].every((id) => succeeded.has(id)) ? true : undefined), 60_000)
      const calls = createCallServiceClient({ apiUrl: current.url, apiKey: current.apiKey })
      const recorded = new Map<string, string>()
      await eventually(async () => {
        recorded.clear()
        let cursor: string | undefined
        do {
          const page = await calls.list({ limit: 1000, ...(cursor ? { cursor } : {}) })
          for (const call of page.calls) recorded.set(call.dispatchId, call.state)
          cursor = page.nextCursor
        } while (cursor)
        return [...recorded.values()].every((state) => state === 'succeeded') ? true : undefined
      }, 60_000)
      expect(recorded.size).toBe(TOTAL)
      for (const id of accepted) expect(recorded.get(id)).toBe('succeeded')
      expect(runs).toBeGreaterThanOrEqual(TOTAL)
      // The kills did land while attempts were in flight, and those were delivered again.
      expect(released).toBeGreaterThan(0)
    } finally {
      await app.close()
    }
  })
})
