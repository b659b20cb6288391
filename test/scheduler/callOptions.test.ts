import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CallFailedError, createClient, defineRoutes, TemporaryError, tupleSchema } from '../../runtime/index.js'
import { removeFolder, startEndpoint, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// `.call(...args, options)` takes the options of a dispatch: outside a running dispatch function they
// reach the scheduler; inside one a child call carries only `expiration`, and the others are refused.

const SOURCE = 'test/scheduler/callOptions.test.ts'
let folder: string
let scheduler: TestScheduler
let endpoint: { url: string; app: FastifyInstance }
const attempts = new Map<string, number>()
let client: ReturnType<typeof makeClient>

function makeClient(url: string, s: TestScheduler) {
  return createClient<{
    failsOnce: { args: [key: string]; output: string }
    callsWithDelay: { args: []; output: string }
  }>({ failsOnce: 1, callsWithDelay: 0 }, { endpoint: url, apiUrl: s.scheduler.url, apiKey: s.scheduler.apiKey })
}

beforeAll(async () => {
  folder = await tempFolder('dispatch-call-options-')
  scheduler = await startTestScheduler(join(folder, 'dispatch.db'))
  const routes = defineRoutes({
    failsOnce: {
      source: SOURCE,
      input: tupleSchema([Type.String()]),
      output: Type.String(),
      handler: async (key: string) => {
        const n = (attempts.get(key) ?? 0) + 1
        attempts.set(key, n)
        if (n === 1) throw new TemporaryError('first attempt fails')
        return `ok after ${n}`
      },
    },
    callsWithDelay: {
      source: SOURCE,
      input: tupleSchema([]),
      output: Type.String(),
      handler: async () => client.failsOnce.call('inner', { delay: '1s' }),
    },
  })
  endpoint = await startEndpoint(routes, scheduler.scheduler.verificationKeyPem)
  client = makeClient(endpoint.url, scheduler)
})
afterAll(async () => {
  await endpoint.app.close()
  await scheduler.scheduler.close()
  await removeFolder(folder)
})

describe('.call options', () => {
  it('reach the scheduler outside a running dispatch function', async () => {
    // Retried by default: the second attempt succeeds.
    await expect(client.failsOnce.call('a')).resolves.toBe('ok after 2')
    // With maxAttempts 1 the first failure is final.
    const failed = await client.failsOnce.call('b', { maxAttempts: 1 }).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(CallFailedError)
    expect(attempts.get('b')).toBe(1)
  })

  it('other than expiration, are refused inside a running dispatch function with DSP2010', async () => {
    const [id] = await scheduler.dispatch([{ endpoint: endpoint.url, function: 'callsWithDelay', input: value([]) }])
    const call = await scheduler.settle(id!)
    expect(call.state).toBe('failed')
    expect(call.error?.message).toContain('delay cannot be set on a durable call')
    expect(attempts.has('inner')).toBe(false)
  })
})
