import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, exited, type SchedulerChild, spawnScheduler } from '../faults/processes.js'
import { removeFolder, tempFolder, value } from './helpers.js'
import { type EndpointChild, spawnEndpoint } from './spawnEndpoint.js'

// The endpoint process and the scheduler process are each SIGKILLed in the middle of a
// 3-level fan-out of 500 calls; after restarts the root returns the right sum and every leaf's
// effect happened at least once.

const LEAVES = 500
const GATE_FROM = 250

const startEndpoint = (env: Record<string, string>) =>
  spawnEndpoint('test/scheduler/fixtures/coroutineEndpoint.ts', env)

const effectsIn = (path: string): Set<number> => {
  try {
    return new Set(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
    )
  } catch {
    return new Set()
  }
}

describe('coroutines under crashes', () => {
  let folder: string
  let scheduler: SchedulerChild | undefined
  let endpoint: EndpointChild | undefined

  beforeAll(async () => {
    folder = await tempFolder('dispatch-coroutine-crash-')
  })
  afterAll(async () => {
    if (endpoint) await exited(endpoint.process, true)
    if (scheduler) await exited(scheduler.process, true)
    await removeFolder(folder)
  })

  it(`a 3-level fan-out of ${LEAVES} calls survives SIGKILLs of the endpoint and of the scheduler`, async () => {
    const dbPath = join(folder, 'dispatch.db')
    const effects = join(folder, 'effects.log')
    const gate = join(folder, 'gate')
    const schedulerEnv = { DISPATCH_TEST_MAX_ATTEMPTS: '100000' }
    scheduler = await spawnScheduler(dbPath, schedulerEnv)
    const endpointEnv = {
      DISPATCH_TEST_EFFECTS: effects,
      DISPATCH_TEST_GATE: gate,
      DISPATCH_TEST_GATE_FROM: String(GATE_FROM),
      DISPATCH_VERIFICATION_KEY: scheduler.verificationKeyPem,
      DISPATCH_TEST_PORT: '0',
    }
    endpoint = await startEndpoint(endpointEnv)
    const port = new URL(endpoint.url).port
    const url = endpoint.url

    const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` },
      body: JSON.stringify({ calls: [{ endpoint: url, function: 'tree', input: value([0, 0]) }] }),
    })
    expect(response.status).toBe(200)
    const [root] = ((await response.json()) as { dispatchIds: string[] }).dispatchIds as [string]

    // Half the leaves finish; the other half are held in flight behind the gate.
    await eventually(
      () => (effectsIn(effects).size >= GATE_FROM ? true : undefined),
      120_000,
      'first half of the leaves',
    )
    expect((await scheduler.calls.get(root)).state).not.toBe('succeeded')

    // Kill the endpoint with leaves in flight, and start it again on the same port.
    await exited(endpoint.process, true)
    endpoint = await startEndpoint({ ...endpointEnv, DISPATCH_TEST_PORT: port })

    // Kill the scheduler with attempts in flight and parents suspended, and start it again.
    await exited(scheduler.process, true)
    scheduler = await spawnScheduler(dbPath, schedulerEnv)
    expect((await scheduler.calls.get(root)).state).not.toBe('succeeded')

    writeFileSync(gate, '')
    const done = await eventually(
      async () => {
        const { call, done } = await scheduler!.calls.wait(root, '5s')
        return done ? call : undefined
      },
      180_000,
      'the root to finish',
    )
    expect(done.state).toBe('succeeded')
    expect(done.output?.value).toBe((LEAVES * (LEAVES - 1)) / 2)
    const seen = effectsIn(effects)
    for (let leaf = 0; leaf < LEAVES; leaf++) expect(seen.has(leaf), `leaf ${leaf}`).toBe(true)
  }, 300_000)
})
