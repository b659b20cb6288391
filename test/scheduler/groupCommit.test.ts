import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallServiceClient } from '../../runtime/index.js'
import { GroupCommitter } from '../../scheduler/api/groupCommitter.js'
import { newDispatchId } from '../../scheduler/calls/dispatchId.js'
import { type NewCall, openSqliteStore, type Store } from '../../scheduler/index.js'
import { scriptCommand } from '../scriptCommand.js'
import { removeFolder, tempFolder, value } from './helpers.js'

let folder: string
beforeAll(async () => {
  folder = await tempFolder()
})
afterAll(async () => {
  await removeFolder(folder)
})

function newCall(overrides: Partial<NewCall> = {}): NewCall {
  const now = Date.now()
  return {
    dispatchId: newDispatchId(now),
    function: 'f',
    endpoint: 'http://127.0.0.1:9',
    input: value([]),
    version: undefined,
    correlationId: undefined,
    createdAt: now,
    dueAt: now + 3_600_000,
    expiresAt: undefined,
    expirationMs: undefined,
    maxAttempts: 10,
    fairnessKey: undefined,
    idempotencyKey: undefined,
    parentDispatchId: undefined,
    rootDispatchId: undefined,
    ...overrides,
  }
}

describe('group commit', () => {
  it('commits concurrent requests in shared transactions, in order, each request all-or-nothing', async () => {
    const sqlite = openSqliteStore(join(folder, 'unit.db'))
    let transactions = 0
    // A store whose transaction fails when it holds the poisoned call: as a storage error would.
    const store = new Proxy(sqlite, {
      get(target, name, receiver) {
        if (name === 'insertCalls') {
          return (calls: readonly NewCall[], options: Parameters<Store['insertCalls']>[1]) => {
            transactions++
            if (calls.some((c) => c.function === 'poison')) return Promise.reject(new Error('disk on fire'))
            return target.insertCalls(calls, options)
          }
        }
        const member = Reflect.get(target, name, receiver)
        return typeof member === 'function' ? member.bind(target) : member
      },
    }) as Store
    const committer = new GroupCommitter(store, { idempotencyWindowMs: 60_000 })
    const requests = Array.from({ length: 100 }, (_, i) =>
      // Pairs of requests share an idempotency key: the first of the pair (in arrival order) wins.
      [newCall({ idempotencyKey: `k${Math.floor(i / 2)}` }), newCall(), newCall()],
    )
    const poisoned = [newCall(), newCall({ function: 'poison' })]
    const answers = requests.map((calls) => committer.insert(calls))
    const refused = committer.insert(poisoned)
    const results = await Promise.all(answers)
    await expect(refused).rejects.toThrow(/disk on fire/)
    // One shared attempt (failed by the poisoned request), then one per request: still far fewer
    // than one per request when nothing fails — checked below.
    for (let i = 0; i < requests.length; i++) {
      const first = results[i - (i % 2)]![0]!
      expect(results[i]![0]!.dispatchId).toBe(first.dispatchId)
      expect(results[i]![0]!.inserted).toBe(i % 2 === 0)
      expect(results[i]!.slice(1).map((r) => r.dispatchId)).toEqual(requests[i]!.slice(1).map((c) => c.dispatchId))
    }
    expect(await store.getCall(poisoned[0]!.dispatchId)).toBeUndefined()
    expect((await store.getCalls(results.flat().map((r) => r.dispatchId))).length).toBe(250)

    transactions = 0
    await Promise.all(Array.from({ length: 100 }, () => committer.insert([newCall()])))
    expect(transactions).toBeLessThanOrEqual(2)
    expect(committer.queuedCalls).toBe(0)
    await sqlite.close()
  })

  it('tells each request when its calls are committed, and commits the next group while one waits for its fsync', async () => {
    const sqlite = openSqliteStore(join(folder, 'pipelined.db'))
    // The real store, whose resolution (its durability) is held back until released.
    const held: (() => void)[] = []
    const store = new Proxy(sqlite, {
      get(target, name, receiver) {
        if (name === 'insertCalls') {
          return async (calls: readonly NewCall[], options: Parameters<Store['insertCalls']>[1]) => {
            const results = await target.insertCalls(calls, options)
            await new Promise<void>((resolve) => held.push(resolve))
            return results
          }
        }
        return Reflect.get(target, name, receiver)
      },
    })
    const committer = new GroupCommitter(store, { idempotencyWindowMs: 60_000 })
    const committed: string[][] = []
    const first = [newCall(), newCall()]
    const firstDone = committer.insert(first, (results) => committed.push(results.map((r) => r.dispatchId)))
    const deadline = Date.now() + 5000
    while (held.length < 1 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve))
    // Committed, not yet durable: the request was told, its ids not yet handed out.
    expect(committed).toEqual([first.map((c) => c.dispatchId)])
    const second = [newCall()]
    const secondDone = committer.insert(second, (results) => committed.push(results.map((r) => r.dispatchId)))
    while (held.length < 2 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve))
    // The second request's group committed while the first still waited.
    expect(committed).toEqual([first.map((c) => c.dispatchId), second.map((c) => c.dispatchId)])
    for (const release of held.splice(0)) release()
    expect((await firstDone).map((r) => r.dispatchId)).toEqual(first.map((c) => c.dispatchId))
    expect((await secondDone).map((r) => r.dispatchId)).toEqual(second.map((c) => c.dispatchId))
    await sqlite.close()
  })

  it("tells the SQLite store's caller of the commit before the insert resolves, with the same results", async () => {
    const store = openSqliteStore(join(folder, 'committed.db'))
    const call = newCall({ idempotencyKey: 'k' })
    let told: readonly { dispatchId: string; inserted: boolean }[] | undefined
    const done = store.insertCalls([call], {
      now: Date.now(),
      idempotencyWindowMs: 60_000,
      onCommitted: (results) => {
        told = results
      },
    })
    // Told in the same turn as the call, so before the insert (an fsync later) resolved.
    expect(told).toEqual([{ dispatchId: call.dispatchId, inserted: true }])
    expect(await done).toEqual(told)
    await store.close()
  })

  it('never loses an acknowledged call when the scheduler is SIGKILLed right after replies', async () => {
    const dbPath = join(folder, 'kill.db')
    const child = await spawnScheduler(dbPath)
    const acknowledged = new Map<string, string[]>()
    let replies = 0
    let cutOff = 0
    let killed = false
    const send = async (i: number) => {
      const calls = Array.from({ length: 4 }, (_, j) => ({
        endpoint: 'http://127.0.0.1:9',
        function: 'noop',
        input: value([i, j]),
        delay: '3600s', // stored, not delivered: the test is about what the store holds
        ...(j === 0 ? { idempotencyKey: `req-${i}` } : {}),
      }))
      try {
        const response = await fetch(`${child.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${child.apiKey}` },
          body: JSON.stringify({ calls }),
        })
        if (response.status !== 200) return
        const { dispatchIds } = (await response.json()) as { dispatchIds: string[] }
        acknowledged.set(`req-${i}`, dispatchIds)
        // Kill in the same turn as the 100th reply: later commits are cut off mid-flight.
        if (++replies === 300 && !killed) {
          killed = true
          child.process.kill('SIGKILL')
        }
      } catch {
        // The connection died with the process: not acknowledged, may or may not be stored.
        cutOff++
      }
    }
    // 32 clients dispatching back to back, so that commits are in flight when the kill lands.
    let next = 0
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (!killed) await send(next++)
      }),
    )
    await exited(child.process)
    expect(acknowledged.size).toBeGreaterThanOrEqual(300)
    expect(cutOff).toBeGreaterThan(0)

    const again = await spawnScheduler(dbPath)
    try {
      const client = createCallServiceClient({ apiUrl: again.url, apiKey: again.apiKey })
      const stored = new Set<string>()
      let cursor: string | undefined
      do {
        const page = await client.list({ limit: 1000, ...(cursor ? { cursor } : {}) })
        for (const call of page.calls) stored.add(call.dispatchId)
        cursor = page.nextCursor
      } while (cursor)
      const lost = [...acknowledged.values()].flat().filter((id) => !stored.has(id))
      expect(lost).toEqual([])
    } finally {
      again.process.kill('SIGKILL')
      await exited(again.process)
    }
  })
})

interface Child {
  process: ChildProcess
  url: string
  apiKey: string
}

function spawnScheduler(dbPath: string): Promise<Child> {
  const child = spawn(process.execPath, scriptCommand('test/scheduler/fixtures/schedulerProcess.ts'), {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, DISPATCH_TEST_DB: dbPath, DISPATCH_API_KEY: '', DISPATCH_SIGNING_KEY: '' },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line !== undefined)
        resolve({ process: child, ...(JSON.parse(line) as Omit<Child, 'process'>) })
    })
    child.once('exit', (code) => reject(new Error(`scheduler process exited with ${code} before it served`)))
  })
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
  })
}
