import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, exited, type SchedulerChild } from '../faults/processes.js'
import { removeFolder, tempFolder, value } from './helpers.js'
import { spawnEndpoint } from './spawnEndpoint.js'
import { type StoreName, storeSchedulers } from './storeSchedulerProcess.js'

// A signal is stored before the Signal API answers: the scheduler SIGKILLed right after it resumes
// the coroutine with the signal once it starts again. The endpoint is down meanwhile, so the kill
// surely falls between the signal and the resume (no turn can have taken the signal before it).

const startEndpoint = (env: Record<string, string>) => spawnEndpoint('test/scheduler/fixtures/signalEndpoint.ts', env)

describe.each(['SQLite', 'PostgreSQL'] as StoreName[])('signals under crashes on %s', (store) => {
  let folder = ''
  const schedulers = storeSchedulers(store, () => folder)
  let scheduler: SchedulerChild | undefined
  let endpoint: { process: ChildProcess; url: string } | undefined

  beforeAll(async () => {
    folder = await tempFolder('dispatch-signal-crash-')
  })
  afterAll(async () => {
    if (endpoint) await exited(endpoint.process, true)
    if (scheduler) await exited(scheduler.process, true)
    await schedulers.drop()
    await removeFolder(folder)
  })

  it('resumes the coroutine with a signal the scheduler stored before it was killed', async () => {
    scheduler = await schedulers.start({ DISPATCH_TEST_MAX_ATTEMPTS: '100000' })
    const env = { DISPATCH_VERIFICATION_KEY: scheduler.verificationKeyPem, DISPATCH_TEST_PORT: '0' }
    endpoint = await startEndpoint(env)
    const port = new URL(endpoint.url).port
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
    await exited(endpoint.process, true)
    // The answer comes once the signal is durable; the kill follows at once.
    await scheduler.calls.signal(id, 'approval', { by: 'ada' })
    await exited(scheduler.process, true)
    scheduler = await schedulers.start({ DISPATCH_TEST_MAX_ATTEMPTS: '100000' })
    endpoint = await startEndpoint({ ...env, DISPATCH_TEST_PORT: port })
    const done = await eventually(
      async () => {
        const { call, done } = await scheduler!.calls.wait(id, '5s')
        return done ? call : undefined
      },
      120_000,
      'the coroutine to finish',
    )
    expect(done).toMatchObject({ state: 'succeeded', output: { value: 'o1 approved by ada' } })
  }, 240_000)
})
