import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentCall, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import {
  eventually,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
} from './helpers.js'

let folder: string
beforeAll(async () => {
  folder = await tempFolder()
})
afterAll(async () => {
  await removeFolder(folder)
})

describe('restarts', () => {
  it('delivers again an attempt abandoned at close, and keeps pending calls, keys and idempotency keys', async () => {
    const dbPath = join(folder, 'restart.db')
    const runs: string[] = []
    let hang = true
    const releases: (() => void)[] = []
    const routes = defineRoutes({
      work: {
        input: tupleSchema([{}], 0),
        output: {},
        source: 'test/scheduler/restart.test.ts:1',
        handler: async () => {
          runs.push(currentCall().dispatchId!)
          // The first run never answers: the scheduler closes under it.
          if (hang) await new Promise<void>((resolve) => releases.push(resolve))
          return 'done'
        },
      },
    })
    let t: TestScheduler = await startTestScheduler(dbPath, { apiKey: undefined, shutdownGraceMs: 50 })
    const { url: endpoint, app } = await startEndpoint(routes, t.scheduler.verificationKeyPem)
    try {
      const [inFlight, delayed] = await t.dispatch([
        { endpoint, function: 'work', idempotencyKey: 'restart-1' },
        { endpoint, function: 'work', delay: '0.5s' },
      ])
      await eventually(() => (runs.includes(inFlight!) ? true : undefined))
      const { apiKey, verificationKeyPem } = t.scheduler
      await t.scheduler.close()
      hang = false
      t = await startTestScheduler(dbPath, { apiKey: undefined })
      // The same keys (kept beside the database), so the endpoint still verifies.
      expect(t.scheduler.verificationKeyPem).toBe(verificationKeyPem)
      expect(t.scheduler.apiKey).toBe(apiKey)
      expect(await t.settle(inFlight!)).toMatchObject({ state: 'succeeded', attempts: 2 })
      expect(await t.settle(delayed!)).toMatchObject({ state: 'succeeded', attempts: 1 })
      expect(runs.filter((id) => id === inFlight)).toHaveLength(2)
      expect(await t.dispatch([{ endpoint, function: 'work', idempotencyKey: 'restart-1' }])).toEqual([inFlight])
      await t.scheduler.close()
    } finally {
      for (const release of releases) release()
      await app.close()
    }
  })

  it('rejects options that are not numbers', async () => {
    await expect(startScheduler({ dbPath: join(folder, 'bad.db'), concurrency: -1 })).rejects.toMatchObject({
      code: 'DSP3005',
    })
    await expect(
      startScheduler({ dbPath: join(folder, 'bad.db'), functions: { f: { maxAttempts: 0 } } }),
    ).rejects.toMatchObject({ code: 'DSP3005' })
  })
})
