import { join } from 'node:path'
import { Type } from 'typebox'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { all, createClient, defineRoutes, TemporaryError, tupleSchema } from '../../runtime/index.js'
import { removeFolder, startEndpoint, startTestScheduler, type TestScheduler, tempFolder } from './helpers.js'

// Functions in the scheduler's own process (`routes`): delivered without HTTP or signatures, with
// the same validation, statuses, retries and coroutines; remote endpoints on the same scheduler still
// get signed HTTP deliveries.
let flakyAttempts = 0
let hangs = 0
const routes = defineRoutes({
  double: {
    source: 'test',
    input: tupleSchema([Type.Integer()]),
    output: Type.Integer(),
    handler: (n: number) => n * 2,
  },
  flaky: {
    source: 'test',
    input: tupleSchema([]),
    output: Type.String(),
    handler: async () => {
      if (flakyAttempts++ === 0) throw new TemporaryError('first attempt fails')
      return 'ok'
    },
  },
  hang: {
    source: 'test',
    input: tupleSchema([]),
    output: undefined,
    handler: () => {
      hangs++
      return new Promise(() => undefined) // never settles
    },
  },
  sum: {
    source: 'test',
    input: tupleSchema([Type.Array(Type.Integer())]),
    output: Type.Integer(),
    handler: async (ns: number[]) => (await all(ns.map((n) => local().double.call(n)))).reduce((a, b) => a + b, 0),
  },
})
type Local = {
  double: { args: [n: number]; output: number }
  flaky: { args: []; output: string }
  sum: { args: [ns: number[]]; output: number }
  hang: { args: []; output: undefined }
}
let localClient: ReturnType<typeof createClient<Local>> | undefined
const local = () => localClient!

describe('in-process functions (startScheduler({ routes }))', () => {
  const folders: string[] = []
  let t: TestScheduler | undefined
  afterEach(async () => {
    await t?.scheduler.close()
    t = undefined
  })
  afterAll(async () => {
    for (const folder of folders) await removeFolder(folder)
  })

  async function start(): Promise<TestScheduler> {
    const folder = await tempFolder()
    folders.push(folder)
    t = await startTestScheduler(join(folder, 'dispatch.db'), {
      routes,
      functions: { hang: { attemptTimeoutMs: 200, maxAttempts: 2 } },
    })
    const { scheduler } = t
    localClient = createClient<Local>(
      { double: 1, flaky: 0, sum: 1, hang: 0 },
      { endpoint: scheduler.inProcessEndpoint!, apiUrl: scheduler.url, apiKey: scheduler.apiKey },
    )
    return t
  }

  it('runs calls, retries and coroutines in the scheduler process', async () => {
    const { scheduler, settle, calls } = await start()
    expect(scheduler.inProcessEndpoint).toBe('http://in-process.localhost')
    const [a, b, c] = await Promise.all([local().double(21), local().flaky(), local().sum([1, 2, 3])])
    expect(await settle(a!)).toMatchObject({ state: 'succeeded', output: { value: 42 } })
    expect(await settle(b!)).toMatchObject({ state: 'succeeded', attempts: 2, output: { value: 'ok' } })
    expect(await settle(c!)).toMatchObject({ state: 'succeeded', output: { value: 12 } })
    const children = await calls.list({ parentDispatchId: c! })
    expect(children.calls.map((child) => child.function)).toEqual(['double', 'double', 'double'])
  })

  it('ends an attempt that outlives its timeout as STATUS_TIMEOUT, once per attempt, as over HTTP', async () => {
    const { settle } = await start()
    const call = await settle(await local().hang())
    expect(call).toMatchObject({ state: 'failed', status: 'STATUS_TIMEOUT', attempts: 2 })
    expect(call.error?.message).toMatch(/did not answer within 200 ms/)
    expect(hangs).toBe(2)
  })

  it('validates inputs in process as an endpoint would', async () => {
    const { settle, dispatch } = await start()
    const [id] = await dispatch([
      {
        function: 'double',
        endpoint: 'http://in-process.localhost',
        input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: ['not a number'] },
      },
    ])
    expect(await settle(id!)).toMatchObject({ state: 'failed', status: 'STATUS_INVALID_ARGUMENT' })
  })

  it('delivers calls to other endpoints over signed HTTP beside the in-process ones', async () => {
    const { scheduler, settle } = await start()
    const remoteRoutes = defineRoutes({
      shout: {
        source: 'test',
        input: tupleSchema([Type.String()]),
        output: Type.String(),
        handler: (s: string) => s.toUpperCase(),
      },
    })
    const remote = await startEndpoint(remoteRoutes, scheduler.verificationKeyPem)
    try {
      const client = createClient<{ shout: { args: [s: string]; output: string } }>(
        { shout: 1 },
        { endpoint: remote.url, apiUrl: scheduler.url, apiKey: scheduler.apiKey },
      )
      const [remoteId, localId] = await Promise.all([client.shout('hey'), local().double(2)])
      expect(await settle(remoteId)).toMatchObject({ state: 'succeeded', output: { value: 'HEY' } })
      expect(await settle(localId)).toMatchObject({ state: 'succeeded', output: { value: 4 } })
    } finally {
      await remote.app.close()
    }
  })

  it('refuses a route table that does not compile before opening the store (DSP2203)', async () => {
    const folder = await tempFolder()
    folders.push(folder)
    const broken = { bad: { name: 'bad', source: 'test', input: { type: 'array' }, output: undefined } } as never
    await expect(startTestScheduler(join(folder, 'dispatch.db'), { routes: broken })).rejects.toMatchObject({
      code: 'DSP2203',
    })
  })
})
