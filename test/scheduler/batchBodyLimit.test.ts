import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { fitBatches } from '../../scheduler/delivery/endpointClient.js'
import { BATCH_CONTENT_TYPE } from '../../schemas/batch.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// Calls whose RunRequests add up to more than the endpoint's body limit (16 MiB by default, which
// docs/protocol.md's limits say a batch must keep within) must go in several requests, never in one
// batch the endpoint refuses as a whole.
const routes = defineRoutes({
  size: { input: tupleSchema([{}]), output: {}, source: 'batchBodyLimit', handler: (s: string) => s.length },
})
const seen: { batch: boolean; status: number }[] = []
let folder: string
let t: TestScheduler
let app: FastifyInstance
let endpoint: string
beforeAll(async () => {
  folder = await tempFolder()
  t = await startTestScheduler(join(folder, 'dispatch.db'))
  app = Fastify()
  app.addHook('onResponse', (request, reply, done) => {
    const type = request.headers['content-type']
    seen.push({ batch: typeof type === 'string' && type.startsWith(BATCH_CONTENT_TYPE), status: reply.statusCode })
    done()
  })
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: t.scheduler.verificationKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await t?.scheduler.close()
  await app?.close()
  await removeFolder(folder)
})

describe('batches and the endpoint body limit', () => {
  it('never sends a batch over the body limit: three 6 MiB calls are not one 18 MiB request', async () => {
    const [warm] = await t.dispatch([{ endpoint, function: 'size', input: value(['x']) }])
    await t.settle(warm!)
    for (let round = 0; round < 2; round++) {
      const big = 'y'.repeat(6 * 1024 * 1024)
      const ids = await t.dispatch([1, 2, 3].map(() => ({ endpoint, function: 'size', input: value([big]) })))
      for (const id of ids) expect(await t.settle(id)).toMatchObject({ state: 'succeeded' })
    }
    // Cut to fit: no request refused (an 18 MiB batch would be refused 400, then sent one by one).
    expect(seen.filter((s) => s.status !== 200)).toEqual([])
  }, 60_000)
})

describe('fitBatches', () => {
  it('cuts calls into groups whose JSON fits, in order, a call too big alone in its own group', () => {
    expect(fitBatches(['aa', 'bb', 'cc'], 100)).toEqual([[0, 1, 2]])
    expect(fitBatches(['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)], 100)).toEqual([[0, 1], [2]])
    expect(fitBatches(['a', 'b'.repeat(500), 'c'], 100)).toEqual([[0], [1], [2]])
    // Bytes, not characters: é is two bytes in UTF-8.
    expect(fitBatches(['é'.repeat(30), 'é'.repeat(30)], 100)).toEqual([[0], [1]])
    expect(fitBatches([], 100)).toEqual([])
  })
})
