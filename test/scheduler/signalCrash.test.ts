import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, exited, type SchedulerChild, spawnScheduler } from '../faults/processes.js'
import { removeFolder, tempFolder, value } from './helpers.js'
import { spawnEndpoint } from './spawnEndpoint.js'

// A signal is stored before the Signal API answers: the scheduler SIGKILLed right after it
// (before it could resume the coroutine) resumes it with the signal once it starts again.

const startEndpoint = (env: Record<string, string>) => spawnEndpoint('test/scheduler/fixtures/signalEndpoint.ts', env)

describe('signals under crashes', () => {
  let folder: string
  let scheduler: SchedulerChild | undefined
  let endpoint: { process: ChildProcess; url: string } | undefined

  beforeAll(async () => {
    folder = await tempFolder('dispatch-signal-crash-')
  })
  afterAll(async () => {
    if (endpoint) await exited(endpoint.process, true)
    if (scheduler) await exited(scheduler.process, true)
    await removeFolder(folder)
  })

  it('resumes the coroutine with a signal the scheduler stored before it was killed', async () => {
    const dbPath = join(folder, 'dispatch.db')
    scheduler = await spawnScheduler(dbPath)
    endpoint = await startEndpoint({ DISPATCH_VERIFICATION_KEY: scheduler.verificationKeyPem, DISPATCH_TEST_PORT: '0' })
    const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` },
      body: JSON.stringify({ calls: [{ endpoint: endpoint.url, function: 'approve', input: value(['o1']) }] }),
    })
    const [id] = ((await response.json()) as { dispatchIds: string[] }).dispatchIds as [string]
    await eventually(
      async () => ((await scheduler!.calls.get(id)).state === 'suspended' ? true : undefined),
      30_000,
      'the coroutine to wait for its signal',
    )
    // The answer comes once the signal is durable; the kill follows at once.
    await scheduler.calls.signal(id, 'approval', { by: 'ada' })
    await exited(scheduler.process, true)
    scheduler = await spawnScheduler(dbPath)
    const done = await eventually(
      async () => {
        const { call, done } = await scheduler!.calls.wait(id, '5s')
        return done ? call : undefined
      },
      60_000,
      'the coroutine to finish',
    )
    expect(done).toMatchObject({ state: 'succeeded', output: { value: 'o1 approved by ada' } })
  }, 120_000)
})
