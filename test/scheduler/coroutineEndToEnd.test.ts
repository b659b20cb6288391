import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { createClient, defineRoutes, type Routes, tupleSchema } from '../../runtime/index.js'
import { runScript } from '../cli/runCli.js'
import { coroutineRoutes } from '../runtime/helpers/coroutineRoutes.js'
import {
  eventually,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from './helpers.js'

// Durable coroutines through the real scheduler and the real runtime: the replay semantics of
// test/runtime/coroutine.test.ts end to end, restarts from input after a divergence or a code change,
// and a durable sleep across a scheduler restart.

let folder: string
let scheduler: TestScheduler
let endpoint: { url: string; app: FastifyInstance }
beforeAll(async () => {
  folder = await tempFolder('dispatch-coroutines-e2e-')
  scheduler = await startTestScheduler(join(folder, 'dispatch.db'))
  endpoint = await startEndpoint(coroutineRoutes, scheduler.scheduler.verificationKeyPem)
})
afterAll(async () => {
  await endpoint.app.close()
  await scheduler.scheduler.close()
  await removeFolder(folder)
})

async function run(fn: string, args: unknown[], on = scheduler, url = endpoint.url) {
  const [id] = await on.dispatch([{ endpoint: url, function: fn, input: value(args) }])
  return on.settle(id!)
}

describe('coroutines through the scheduler', () => {
  it('a call DAG returns the same nested result as under the test driver', async () => {
    const call = await run('dag', [3])
    expect(call.state).toBe('succeeded')
    expect(call.output?.value).toMatchObject({ a: 6, b: 24, s: 60, e: 60 })
  })

  it('combinators and caught child failures', async () => {
    expect((await run('combinator', ['any', ['fail:A', 'ok:5']])).output?.value).toEqual({ value: 10 })
    expect((await run('combinator', ['all', ['ok:1', 'ok:2', 'ok:3']])).output?.value).toEqual({ value: [2, 4, 6] })
    expect((await run('combinator', ['any', ['fail:A', 'fail:B']])).output?.value).toEqual({
      error: {
        aggregate: [
          { type: 'A', message: 'A happened' },
          { type: 'B', message: 'B happened' },
        ],
      },
    })
    expect((await run('catcher', [false])).output?.value).toEqual({
      callFailed: true,
      type: 'CardDeclined',
      message: 'insufficient funds',
    })
    const rethrown = await run('catcher', [true])
    expect(rethrown.state).toBe('failed')
    expect(rethrown.status).toBe('STATUS_PERMANENT_ERROR')
    expect(rethrown.error?.type).toBe('CallFailedError')
  })

  it('tail calls from a coroutine', async () => {
    expect((await run('tailer', [5])).output?.value).toBe(20)
  })

  it('sorts 1,000 values with a distributed merge sort', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1009)
    const call = await run('mergeSort', [values])
    expect(call.state).toBe('succeeded')
    expect(call.output?.value).toEqual([...values].sort((a, b) => a - b))
  }, 120_000)

  it('a fan-out of 1,500 calls (one Poll, one resumed turn with every result) completes', async () => {
    expect((await run('fanout', [1500, false])).output?.value).toBe(1499 * 1500)
  }, 60_000)
})

describe('restarts from input', () => {
  it('a replay that diverges ends in INCOMPATIBLE_STATE and a clean restart', async () => {
    let runs = 0
    const client = createClient<{
      double: { args: [number]; output: number }
      echo: { args: [string]; output: string }
    }>({ double: 1, echo: 1 })
    const routes: Routes = defineRoutes({
      ...coroutineRoutes,
      // The first run calls double; every later run calls echo: the resume of the first run diverges.
      flaky: {
        source: 'test/scheduler/coroutineEndToEnd.test.ts',
        input: tupleSchema([]),
        output: Type.String(),
        handler: async () => {
          const first = runs++ === 0
          return first ? String(await client.double.call(1)) : await client.echo.call('again')
        },
      },
    })
    const own = await startEndpoint(routes, scheduler.scheduler.verificationKeyPem)
    try {
      const call = await run('flaky', [], scheduler, own.url)
      expect(call.state).toBe('succeeded')
      expect(call.output?.value).toBe('again')
      // First run, its diverging resume, the restart from input, and the restart's resume.
      expect(runs).toBe(4)
    } finally {
      await own.app.close()
    }
  })

  it('a code change between turns ends in INCOMPATIBLE_STATE and a restart under the new code', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    // The child runs on an endpoint of its own, so the parent's endpoint is idle while it waits.
    const held = await startEndpoint(
      defineRoutes({
        held: {
          source: 'test/scheduler/coroutineEndToEnd.test.ts',
          input: tupleSchema([]),
          output: Type.Number(),
          handler: async () => {
            await gate
            return 1
          },
        },
      }),
      scheduler.scheduler.verificationKeyPem,
    )
    const child = createClient<{ held: { args: []; output: number } }>({ held: 0 }, { endpoint: held.url })
    const version = (v: string) =>
      defineRoutes({
        versioned: {
          source: 'test/scheduler/coroutineEndToEnd.test.ts',
          input: tupleSchema([]),
          output: Type.String(),
          handler:
            v === 'v1' ? async () => `v1:${await child.held.call()}` : async () => `v2:${await child.held.call()}`,
        },
      })
    const v1 = await startEndpoint(version('v1'), scheduler.scheduler.verificationKeyPem)
    const port = Number(new URL(v1.url).port)
    let v2: FastifyInstance | undefined
    try {
      const [id] = await scheduler.dispatch([{ endpoint: v1.url, function: 'versioned', input: value([]) }])
      await eventually(async () => ((await scheduler.calls.get(id!)).state === 'suspended' ? true : undefined))
      // Deploy: the same address now runs the new code.
      await v1.app.close()
      v2 = Fastify()
      await v2.register(dispatchPlugin, {
        routes: version('v2'),
        verificationKey: scheduler.scheduler.verificationKeyPem,
        endpointUrl: v1.url,
      })
      await v2.listen({ host: '127.0.0.1', port })
      release()
      const call = await scheduler.settle(id!)
      expect(call.state).toBe('succeeded')
      expect(call.output?.value).toBe('v2:1')
    } finally {
      release()
      await v2?.close()
      await held.app.close()
    }
  })
})

describe('durable sleep', () => {
  it('survives a scheduler restart and fires no earlier than asked', async () => {
    const dbPath = join(folder, 'sleep.db')
    let first: TestScheduler | undefined = await startTestScheduler(dbPath)
    const own = await startEndpoint(coroutineRoutes, first.scheduler.verificationKeyPem)
    let second: TestScheduler | undefined
    try {
      const started = Date.now()
      const [id] = await first.dispatch([{ endpoint: own.url, function: 'sleeper', input: value([1500]) }])
      await eventually(async () => ((await first!.calls.get(id!)).state === 'suspended' ? true : undefined))
      await first.scheduler.close()
      first = undefined
      // The keys are kept beside the database: the endpoint's verification key still holds.
      second = await startTestScheduler(dbPath)
      const call = await second.settle(id!)
      expect(call.state).toBe('succeeded')
      expect(call.output?.value as number).toBeGreaterThanOrEqual(1500)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500)
    } finally {
      await first?.scheduler.close()
      await second?.scheduler.close()
      await own.app.close()
    }
  })
})

describe('the fan-out example', () => {
  it('runs under dispatch run and prints the coroutine result', async () => {
    const { code, stdout, stderr } = await runScript('examples/fanout/demo.ts', [], { FANOUT_USERS: '50' })
    const out = stdout + stderr
    expect(code, out).toBe(0)
    expect(out).toMatch(
      /result after \d+ ms: \{"sent":50,"first":"sms","charged":false,"chargeError":"PermanentError: the card of u1 was declined"\}/,
    )
  }, 60_000)
})
