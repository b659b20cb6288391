import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Type } from 'typebox'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  all,
  createCallServiceClient,
  createClient,
  currentCall,
  defineRoutes,
  TemporaryError,
  ThrottledError,
  tupleSchema,
} from '../../runtime/index.js'
import { type Scheduler, startScheduler } from '../../scheduler/index.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { openSqliteStore } from '../../scheduler/store/sqliteStore.js'
import {
  eventually,
  FAST_RETRY,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

// Functions in the scheduler's own process (`routes`): delivered without HTTP or signatures, with
// the same validation, statuses, retries and coroutines; remote endpoints on the same scheduler still
// get signed HTTP deliveries.
let flakyAttempts = 0
let hangs = 0
/** Every run of `tagged`, in the order they started. */
let tagged: string[] = []
const routes = defineRoutes({
  context: {
    source: 'test',
    input: tupleSchema([]),
    output: Type.Object({ id: Type.Optional(Type.String()), fn: Type.String(), expires: Type.Boolean() }),
    handler: async () => {
      await new Promise((resolve) => setImmediate(resolve))
      const call = currentCall()
      return {
        ...(call.dispatchId === undefined ? {} : { id: call.dispatchId }),
        fn: call.function,
        expires: call.expirationTime !== undefined,
      }
    },
  },
  tagged: {
    source: 'test',
    input: tupleSchema([Type.String()]),
    output: undefined,
    handler: (tag: string) => {
      tagged.push(tag)
    },
  },
  throttled: {
    source: 'test',
    input: tupleSchema([]),
    output: undefined,
    handler: () => {
      throw new ThrottledError('too busy')
    },
  },
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

  async function start(options: Parameters<typeof startTestScheduler>[1] = {}): Promise<TestScheduler> {
    const folder = await tempFolder()
    folders.push(folder)
    t = await startTestScheduler(join(folder, 'dispatch.db'), {
      routes,
      functions: { hang: { attemptTimeoutMs: 200, maxAttempts: 2 }, throttled: { maxAttempts: 1 } },
      ...options,
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

  it('gives an in-process function its call context (currentCall), as an endpoint would', async () => {
    const { settle, dispatch } = await start()
    const [plain, expiring] = await dispatch([
      { function: 'context', endpoint: 'http://in-process.localhost', input: value([]) },
      { function: 'context', endpoint: 'http://in-process.localhost', input: value([]), expiration: '3600s' },
    ])
    expect(await settle(plain!)).toMatchObject({
      state: 'succeeded',
      output: value({ id: plain, fn: 'context', expires: false }),
    })
    expect(await settle(expiring!)).toMatchObject({ output: value({ id: expiring, fn: 'context', expires: true }) })
  })

  it('shares in-process deliveries fairly between fairness keys', async () => {
    tagged = []
    const { dispatch } = await start({ concurrency: 8 })
    const call = (tag: string, fairnessKey: string) => ({
      function: 'tagged',
      endpoint: 'http://in-process.localhost',
      input: value([tag]),
      fairnessKey,
    })
    // One commit: both backlogs are due together, tenant a's calls first.
    await dispatch([
      ...Array.from({ length: 1000 }, (_, i) => call(`a${i}`, 'a')),
      ...Array.from({ length: 1000 }, (_, i) => call(`b${i}`, 'b')),
    ])
    await eventually(() => (tagged.length >= 600 ? true : undefined))
    const b = tagged.slice(0, 600).filter((tag) => tag.startsWith('b')).length
    expect(b).toBeGreaterThanOrEqual(270)
    expect(b).toBeLessThanOrEqual(330)
  })

  it("lowers the in-process endpoint's adaptive concurrency on THROTTLED, as for a remote endpoint", async () => {
    const { scheduler, settle, dispatch } = await start({ adaptiveConcurrency: { initial: 20, min: 1, max: 40 } })
    const limit = async () =>
      (await scheduler.stats()).endpoints.find((e) => e.endpoint === 'http://in-process.localhost')?.limit
    const [ok] = await dispatch([{ function: 'double', endpoint: 'http://in-process.localhost', input: value([1]) }])
    await settle(ok!)
    expect(await limit()).toBe(20)
    const [throttled] = await dispatch([
      { function: 'throttled', endpoint: 'http://in-process.localhost', input: value([]) },
    ])
    expect(await settle(throttled!)).toMatchObject({ state: 'failed', status: 'STATUS_THROTTLED' })
    expect(await limit()).toBeLessThan(20)
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

describe('in-process functions on a store given as an object (startScheduler({ store, routes }))', () => {
  it('runs them with a PostgreSQL store and no dbPath: the keys live in its schema', async () => {
    const schema = `dispatch_test_in_process_${randomBytes(4).toString('hex')}`
    const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 4 })
    let scheduler: Scheduler | undefined
    try {
      scheduler = await startScheduler({ store, routes, retry: FAST_RETRY, pollIntervalMs: 100, logger: false })
      const client = createClient<Local>(
        { double: 1, flaky: 0, sum: 1, hang: 0 },
        { endpoint: scheduler.inProcessEndpoint!, apiUrl: scheduler.url, apiKey: scheduler.apiKey },
      )
      localClient = client
      const calls = createCallServiceClient({ apiUrl: scheduler.url, apiKey: scheduler.apiKey })
      const id = await client.sum([4, 5])
      for (;;) {
        const { call, done } = await calls.wait(id, '20s')
        if (!done) continue
        expect(call).toMatchObject({ state: 'succeeded', output: { value: 18 } })
        break
      }
    } finally {
      await scheduler?.close()
      await store.dropSchema()
      await store.close()
    }
  })

  it('asks for dbPath with a store that keeps no shared settings (SQLite): its keys live in files (DSP3005)', async () => {
    const folder = await tempFolder()
    const store = openSqliteStore(join(folder, 'dispatch.db'))
    try {
      await expect(startScheduler({ store, routes, apiKey: 'k' })).rejects.toMatchObject({
        code: 'DSP3005',
        message: expect.stringMatching(/the store given keeps no shared settings, so the scheduler needs dbPath/),
      })
      const scheduler = await startScheduler({ store, routes, dbPath: join(folder, 'dispatch.db'), logger: false })
      try {
        const [id] = await startedCalls(scheduler, [
          { function: 'double', endpoint: scheduler.inProcessEndpoint!, input: value([8]) },
        ])
        const calls = createCallServiceClient({ apiUrl: scheduler.url, apiKey: scheduler.apiKey })
        expect((await calls.wait(id!, '20s')).call).toMatchObject({ state: 'succeeded', output: { value: 16 } })
      } finally {
        await scheduler.close()
      }
    } finally {
      await store.close()
      await removeFolder(folder)
    }
  })
})

/** Dispatches `calls` to `scheduler` through its API; their ids. */
async function startedCalls(scheduler: Scheduler, calls: unknown[]): Promise<string[]> {
  const response = await fetch(`${scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${scheduler.apiKey}` },
    body: JSON.stringify({ calls }),
  })
  expect(response.status).toBe(200)
  return ((await response.json()) as { dispatchIds: string[] }).dispatchIds
}
