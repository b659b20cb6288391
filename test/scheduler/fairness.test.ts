import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import {
  eventually,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from './helpers.js'

/** Every run the endpoint started, in order: `function:tag`. */
let started: string[] = []
const any = { input: tupleSchema([{}], 0), output: {}, source: 'test/scheduler/fairness.test.ts:1' }
const routes = defineRoutes({
  bulk: { ...any, handler: (tag: string) => void started.push(`bulk:${tag}`) },
  other: { ...any, handler: (tag: string) => void started.push(`other:${tag}`) },
})

let folder: string | undefined
let t: TestScheduler | undefined
let app: FastifyInstance | undefined
afterEach(async () => {
  await t?.scheduler.close()
  await app?.close()
  if (folder !== undefined) await removeFolder(folder)
  t = undefined
  app = undefined
  folder = undefined
})

async function setUp(options: Parameters<typeof startTestScheduler>[1] = {}): Promise<string> {
  started = []
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'), { concurrency: 8, ...options })
  const endpoint = await startEndpoint(routes, t.scheduler.verificationKeyPem)
  app = endpoint.app
  return endpoint.url
}

const call = (endpoint: string, fn: string, tag: string, fairnessKey?: string) => ({
  endpoint,
  function: fn,
  input: value([tag]),
  ...(fairnessKey === undefined ? {} : { fairnessKey }),
})

describe('fair scheduling', () => {
  it('a 10,000-call backlog on one function delays a call to another function by a few deliveries', async () => {
    const endpoint = await setUp()
    await t!.dispatch(Array.from({ length: 10_000 }, (_, i) => call(endpoint, 'bulk', String(i))))
    // The backlog is being served...
    await eventually(() => (started.length >= 200 ? true : undefined))
    const [id] = await t!.dispatch([call(endpoint, 'other', 'x')])
    const before = started.length
    await eventually(() => (started.includes('other:x') ? true : undefined))
    const bulkBetween = started.slice(before).filter((s) => s.startsWith('bulk:')).length
    // At most what was already claimed (concurrency 8), a claim already under way when the call was
    // dispatched (it could not know of it), and the rest of the claim it shares: a few deliveries.
    expect(bulkBetween).toBeLessThanOrEqual(3 * 8)
    expect((await t!.settle(id!)).state).toBe('succeeded')
    // ...and far from done when the other call ran.
    expect(started.length).toBeLessThan(5000)
  })

  it('gives two fairness keys of one function equal shares of a shared backlog', async () => {
    const endpoint = await setUp()
    // One request, one commit: both backlogs are due together, tenant a's calls first.
    await t!.dispatch([
      ...Array.from({ length: 1000 }, (_, i) => call(endpoint, 'bulk', `a${i}`, 'a')),
      ...Array.from({ length: 1000 }, (_, i) => call(endpoint, 'bulk', `b${i}`, 'b')),
    ])
    await eventually(() => (started.length >= 600 ? true : undefined))
    const first = started.slice(0, 600)
    const b = first.filter((s) => s.startsWith('bulk:b')).length
    expect(b).toBeGreaterThanOrEqual(270)
    expect(b).toBeLessThanOrEqual(330)
  })

  it('gives weighted shares: weight 2 gets twice the deliveries of weight 1', async () => {
    const endpoint = await setUp({ fairness: { weights: { heavy: 2 } } })
    await t!.dispatch([
      ...Array.from({ length: 1000 }, (_, i) => call(endpoint, 'bulk', `l${i}`, 'light')),
      ...Array.from({ length: 1000 }, (_, i) => call(endpoint, 'bulk', `h${i}`, 'heavy')),
    ])
    await eventually(() => (started.length >= 600 ? true : undefined))
    const heavy = started.slice(0, 600).filter((s) => s.startsWith('bulk:h')).length
    // 2:1 of 600 is 400.
    expect(heavy).toBeGreaterThanOrEqual(370)
    expect(heavy).toBeLessThanOrEqual(430)
  })
})
