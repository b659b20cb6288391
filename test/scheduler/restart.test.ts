import { join } from 'node:path'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { currentCall, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { BATCH_CONTENT_TYPE } from '../../schemas/batch.js'
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

/**
 * A function `work` whose runs wait (until released) while `hanging.on`: an attempt the scheduler
 * closes under. `runs` lists the dispatch id of every run.
 */
function hangingWork(source: string) {
  const runs: string[] = []
  const releases: (() => void)[] = []
  const hanging = { on: true }
  const routes = defineRoutes({
    work: {
      input: tupleSchema([{}], 0),
      output: {},
      source,
      handler: async () => {
        runs.push(currentCall().dispatchId!)
        if (hanging.on) await new Promise<void>((resolve) => releases.push(resolve))
        return 'done'
      },
    },
  })
  return { routes, runs, releases, hanging }
}

describe('restarts', () => {
  it('delivers again an attempt abandoned at close, and keeps pending calls, keys and idempotency keys', async () => {
    const dbPath = join(folder, 'restart.db')
    // The first run never answers: the scheduler closes under it.
    const { routes, runs, releases, hanging } = hangingWork('test/scheduler/restart.test.ts:1')
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
      hanging.on = false
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

  it('delivers again every call of a batch abandoned at close, nothing lost', async () => {
    const dbPath = join(folder, 'restart-batch.db')
    const { routes, runs, releases, hanging } = hangingWork('test/scheduler/restart.test.ts:2')
    let t: TestScheduler = await startTestScheduler(dbPath, { apiKey: undefined, shutdownGraceMs: 50 })
    /** The number of calls in each Run request the endpoint got. */
    const requests: number[] = []
    const app = Fastify()
    app.addHook('preHandler', (request, _reply, done) => {
      const type = request.headers['content-type']
      requests.push(
        typeof type === 'string' && type.startsWith(BATCH_CONTENT_TYPE)
          ? (JSON.parse((request.body as Buffer).toString('utf8')) as { calls: unknown[] }).calls.length
          : 1,
      )
      done()
    })
    await app.register(dispatchPlugin, {
      routes,
      verificationKey: t.scheduler.verificationKeyPem,
      endpointUrl: () => app.listeningOrigin,
    })
    const endpoint = await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      // A lone call first: its answer tells the scheduler the endpoint takes batches.
      hanging.on = false
      const [warm] = await t.dispatch([{ endpoint, function: 'work' }])
      expect(await t.settle(warm!)).toMatchObject({ state: 'succeeded' })
      hanging.on = true
      const ids = await t.dispatch([1, 2, 3, 4].map(() => ({ endpoint, function: 'work' })))
      await eventually(() => (ids.every((id) => runs.includes(id)) ? true : undefined))
      expect(requests.at(-1)).toBe(4)
      await t.scheduler.close()
      hanging.on = false
      t = await startTestScheduler(dbPath, { apiKey: undefined })
      for (const id of ids) expect(await t.settle(id)).toMatchObject({ state: 'succeeded', attempts: 2 })
      for (const id of ids) expect(runs.filter((run) => run === id)).toHaveLength(2)
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
