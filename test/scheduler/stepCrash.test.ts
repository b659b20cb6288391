import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, exited, type SchedulerChild } from '../faults/processes.js'
import { removeFolder, tempFolder, value } from './helpers.js'
import { spawnEndpoint } from './spawnEndpoint.js'
import { type StoreName, storeSchedulers } from './storeSchedulerProcess.js'

// The at-least-once window of a durable step (docs/coroutines.md): the endpoint process is
// SIGKILLed right after a step's side effect, before the journal that records it is stored. The
// step runs again when the turn is retried; a step recorded by a stored journal does not.

const startEndpoint = (env: Record<string, string>) => spawnEndpoint('test/scheduler/fixtures/stepEndpoint.ts', env)

const effectsIn = (path: string): string[] => {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
  } catch {
    return []
  }
}

describe.each(['SQLite', 'PostgreSQL'] as StoreName[])('durable steps under crashes on %s', (store) => {
  let folder = ''
  const schedulers = storeSchedulers(store, () => folder)
  let scheduler: SchedulerChild | undefined
  let endpoint: { process: ChildProcess; url: string } | undefined

  beforeAll(async () => {
    folder = await tempFolder('dispatch-step-crash-')
  })
  afterAll(async () => {
    if (endpoint) await exited(endpoint.process, true)
    if (scheduler) await exited(scheduler.process, true)
    await schedulers.drop()
    await removeFolder(folder)
  })

  it('runs a step again when the endpoint dies after its effect, and never once its journal is stored', async () => {
    scheduler = await schedulers.start({ DISPATCH_TEST_MAX_ATTEMPTS: '100000' })
    const effects = join(folder, 'effects.log')
    const env = {
      DISPATCH_TEST_EFFECTS: effects,
      DISPATCH_TEST_CRASH_DIR: folder,
      DISPATCH_VERIFICATION_KEY: scheduler.verificationKeyPem,
      DISPATCH_TEST_PORT: '0',
    }
    endpoint = await startEndpoint(env)
    const { url } = endpoint
    const port = new URL(url).port
    const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` },
      body: JSON.stringify({ calls: [{ endpoint: url, function: 'order', input: value(['o1']) }] }),
    })
    const [id] = ((await response.json()) as { dispatchIds: string[] }).dispatchIds as [string]

    // The endpoint kills itself twice: after charging (first turn), after emailing (second turn).
    for (const step of ['charge', 'email']) {
      await exited(endpoint.process)
      expect(effectsIn(effects).at(-1)).toBe(step)
      endpoint = await startEndpoint({ ...env, DISPATCH_TEST_PORT: port })
    }
    const done = await eventually(
      async () => {
        const { call, done } = await scheduler!.calls.wait(id, '5s')
        return done ? call : undefined
      },
      120_000,
      'the order to finish',
    )
    expect(done.state).toBe('succeeded')
    expect(done.output?.value).toBe('receipt-o1 1 sent')
    // Each step ran twice: once before the crash, once in the retried turn. The charge did not run
    // a third time in the email's retried turn: the Poll after it had stored it in the journal.
    expect(effectsIn(effects)).toEqual(['charge', 'charge', 'email', 'email'])
  }, 240_000)
})
