import { existsSync } from 'node:fs'
import { Type } from 'typebox'
import { afterEach, describe, expect, it } from 'vitest'
import {
  all,
  createCallServiceClient,
  createClient,
  currentCall,
  DispatchError,
  defineRoutes,
  now,
  PermanentError,
  sleep,
  TemporaryError,
  tupleSchema,
} from '../../runtime/index.js'
import { createTestEnvironment, type TestEnvironment } from '../../testing/index.js'

// A small service written as a user would: plain functions, a route table, a typed client.
async function greet(name: string): Promise<string> {
  return `hello ${name}`
}
async function fetchUser(id: string): Promise<{ id: string; name: string }> {
  throw new Error(`no real user service in tests (${id})`)
}
async function remindLater(id: string): Promise<string> {
  await sleep('1d')
  const [user] = await all([client.fetchUser.call(id)])
  return `reminded ${user!.name}`
}
async function untilExpired(): Promise<string> {
  const { signal } = currentCall()
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
  return 'expired'
}
async function fanOut(ids: string[]): Promise<string[]> {
  const users = await all(ids.map((id) => client.fetchUser.call(id)))
  return users.map((u) => u.name)
}

const routes = defineRoutes({
  greet: { input: tupleSchema([Type.String()]), output: Type.String(), handler: greet, source: 'test' },
  fetchUser: {
    input: tupleSchema([Type.String()]),
    output: Type.Object({ id: Type.String(), name: Type.String() }),
    handler: fetchUser,
    source: 'test',
  },
  remindLater: { input: tupleSchema([Type.String()]), output: Type.String(), handler: remindLater, source: 'test' },
  untilExpired: { input: tupleSchema([]), output: Type.String(), handler: untilExpired, source: 'test' },
  fanOut: {
    input: tupleSchema([Type.Array(Type.String())]),
    output: Type.Array(Type.String()),
    handler: fanOut,
    source: 'test',
  },
})
type Functions = {
  greet: { args: [name: string]; output: string }
  fetchUser: { args: [id: string]; output: { id: string; name: string } }
  remindLater: { args: [id: string]; output: string }
  fanOut: { args: [ids: string[]]; output: string[] }
  untilExpired: { args: []; output: string }
}
const client = createClient<Functions>({ greet: 1, fetchUser: 1, remindLater: 1, fanOut: 1, untilExpired: 0 })

describe('createTestEnvironment', () => {
  let env: TestEnvironment<typeof routes> | undefined
  afterEach(async () => {
    await env?.close()
    env = undefined
  })

  it('runs a call through the real scheduler, with the generated client unchanged', async () => {
    env = await createTestEnvironment({ routes })
    const id = await client.greet('Ada')
    const call = await env.waitFor(id)
    expect(call).toMatchObject({ state: 'succeeded', status: 'STATUS_OK', output: 'hello Ada', function: 'greet' })
    expect(call.attempts).toHaveLength(1)
  })

  it('retries a mock that fails twice, after backoffs that pass only when the clock moves', async () => {
    env = await createTestEnvironment({ routes, retry: { initialBackoffMs: 60_000 } })
    let failures = 0
    const fetchUserMock = env.mock('fetchUser', async (id) => {
      if (failures++ < 2) throw new TemporaryError('the user service is down')
      return { id, name: 'Ada' }
    })
    const id = await client.fetchUser('u1')
    await env.runUntilIdle()
    expect((await env.inspect(id)).state).toBe('pending')
    await expect(env.waitFor(id)).rejects.toMatchObject({ code: 'DSP5004' })
    await env.advanceTime('1h')
    const call = await env.waitFor(id)
    expect(call).toMatchObject({ state: 'succeeded', output: { id: 'u1', name: 'Ada' } })
    expect(call.attempts.map((a) => a.status)).toEqual([
      'STATUS_TEMPORARY_ERROR',
      'STATUS_TEMPORARY_ERROR',
      'STATUS_OK',
    ])
    expect(fetchUserMock.calls).toEqual([['u1'], ['u1'], ['u1']])
  })

  it('fires a durable one-day sleep when the clock passes it, and reports the children', async () => {
    env = await createTestEnvironment({ routes })
    env.mock('fetchUser', async (id) => ({ id, name: `User ${id}` }))
    const started = env.now().getTime()
    const id = await client.remindLater('u7')
    await env.runUntilIdle()
    expect((await env.inspect(id)).state).toBe('suspended')
    await env.advanceTime('23h')
    expect((await env.inspect(id)).state).toBe('suspended')
    await env.advanceTime('1h')
    const call = await env.waitFor(id)
    expect(call).toMatchObject({ state: 'succeeded', output: 'reminded User u7' })
    expect(call.children.map((c) => [c.function, c.state, c.output])).toEqual([
      ['fetchUser', 'succeeded', { id: 'u7', name: 'User u7' }],
    ])
    expect(env.now().getTime() - started).toBe(86_400_000)
  })

  it('fails a call permanently when a mock throws a permanent error, and a parent sees it', async () => {
    env = await createTestEnvironment({ routes })
    env.mock('fetchUser', async (id) => {
      if (id === 'bad') throw new PermanentError('no such user')
      return { id, name: id }
    })
    const id = await client.fanOut(['a', 'bad'])
    const call = await env.waitFor(id)
    expect(call.state).toBe('failed')
    expect(call.children.map((c) => c.state).sort()).toEqual(['failed', 'succeeded'])
  })

  it("mocks another service's function by its endpoint", async () => {
    env = await createTestEnvironment({ routes })
    const billing = createClient<{ charge: { args: [cents: number]; output: string } }>(
      { charge: 1 },
      { endpoint: 'http://billing.test' },
    )
    const charge = env.mock('charge', async (cents: number) => `charged ${cents}`, { endpoint: 'http://billing.test' })
    const call = await env.waitFor(await billing.charge(250))
    expect(call).toMatchObject({ state: 'succeeded', output: 'charged 250' })
    expect(charge.calls).toEqual([[250]])
    charge.restore()
    const unserved = await env.waitFor(await billing.charge(1))
    expect(unserved).toMatchObject({ state: 'failed', status: 'STATUS_NOT_FOUND' })
  })

  it('expires a call whose expiration passes while it is retried', async () => {
    env = await createTestEnvironment({ routes, retry: { initialBackoffMs: 60_000, maxAttempts: 100 } })
    env.mock('fetchUser', async () => {
      throw new TemporaryError('down')
    })
    const id = await client.fetchUser('u1', { expiration: '30m' })
    await env.advanceTime('2h')
    const call = await env.waitFor(id)
    // Backoffs (capped at 5 minutes, jittered) ran in fake time until the next one would pass the expiration.
    expect(call.error?.message).toMatch(/not retried: the call expires before the next attempt/)
    expect(call.attempts.every((a) => a.startedAt < call.info.expiresAt!)).toBe(true)
    expect(call.state).toBe('failed')
  })

  it('keeps idempotency keys and cancels a sleeping coroutine with its children', async () => {
    env = await createTestEnvironment({ routes })
    env.mock('fetchUser', async (id) => ({ id, name: id }))
    const first = await client.greet('Ada', { idempotencyKey: 'greet-ada' })
    expect(await client.greet('Ada', { idempotencyKey: 'greet-ada' })).toBe(first)
    const sleeping = await client.remindLater('u1')
    await env.runUntilIdle()
    await createCallServiceClient().cancel(sleeping)
    await env.advanceTime('2d')
    expect((await env.waitFor(sleeping)).state).toBe('cancelled')
    expect((await env.waitFor(first)).output).toBe('hello Ada')
  })

  it("fires a call's expiration signal when the clock passes it", async () => {
    env = await createTestEnvironment({ routes })
    const id = await client.untilExpired({ expiration: '1m' })
    // The function waits on its signal, which fires as the clock passes the expiration.
    await env.advanceTime('2m')
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'expired' })
  })

  it('reports children in the order they were made', async () => {
    env = await createTestEnvironment({ routes })
    env.mock('fetchUser', async (id) => ({ id, name: id }))
    const call = await env.waitFor(await client.fanOut(['a', 'b', 'c', 'd']))
    expect(call.output).toEqual(['a', 'b', 'c', 'd'])
    expect(call.children.map((c) => c.output)).toEqual(['a', 'b', 'c', 'd'].map((id) => ({ id, name: id })))
  })

  it('lets one of two environments created at once open, and leaves the process as it was', async () => {
    const before = { url: process.env['DISPATCH_API_URL'], now: Date.now() }
    const [first, second] = await Promise.allSettled([
      createTestEnvironment({ routes, startTime: 0 }),
      createTestEnvironment({ routes, startTime: 0 }),
    ])
    const opened = [first, second].filter((r) => r.status === 'fulfilled')
    const refused = [first, second].filter((r) => r.status === 'rejected')
    expect(opened).toHaveLength(1)
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'DSP5001' })
    await (opened[0] as PromiseFulfilledResult<TestEnvironment>).value.close()
    expect(process.env['DISPATCH_API_URL']).toBe(before.url)
    // The runtime's clock is the real one again (the environments started at the epoch).
    expect(now().getTime()).toBeGreaterThanOrEqual(before.now)
    expect(existsSync(':memory:.api-key')).toBe(false)
  })

  it('answers misuse with DSP errors that say what to do', async () => {
    env = await createTestEnvironment({ routes })
    expect(() => (env as TestEnvironment<typeof routes>).mock('nope' as 'greet', async () => 'x')).toThrow(
      expect.objectContaining({
        code: 'DSP5002',
        hint: expect.stringMatching(/fanOut, fetchUser, greet, remindLater/),
      }),
    )
    await expect(createTestEnvironment({ routes })).rejects.toMatchObject({ code: 'DSP5001' })
    const closed = env
    await closed.close()
    env = undefined
    await expect(closed.advanceTime('1s')).rejects.toBeInstanceOf(DispatchError)
    await expect(closed.advanceTime('1s')).rejects.toMatchObject({ code: 'DSP5003' })
    expect(process.env['DISPATCH_API_URL']).not.toBe(closed.url)
  })
})
