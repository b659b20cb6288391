import { Type } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createCallServiceClient,
  createClient,
  defineRoutes,
  SignalTimeoutError,
  sleep,
  step,
  tupleSchema,
  waitForSignal,
} from '../../runtime/index.js'
import { createTestEnvironment, type TestEnvironment } from '../../testing/index.js'

// Signals from outside through the real scheduler and endpoint code (the test environment: the
// CallService API, the store, in-process delivery, a fake clock).

let reserved = 0

async function order(id: string): Promise<string> {
  await step('reserve', () => {
    reserved++
  })
  try {
    const approval = await waitForSignal<{ approved: boolean; by: string }>('approval', { timeout: '1d' })
    return `${id} ${approval.approved ? 'approved' : 'rejected'} by ${approval.by}`
  } catch (error) {
    if (!(error instanceof SignalTimeoutError)) throw error
    return `${id} timed out waiting for ${error.signalName}`
  }
}

async function later(): Promise<unknown[]> {
  await sleep('1h')
  // Both signals came during the sleep: kept, each resolves one wait, in the order sent.
  return Promise.all([waitForSignal('go'), waitForSignal('go'), waitForSignal('bare')])
}

const Approval = Type.Object({ by: Type.String() })
async function typed(): Promise<string> {
  try {
    return (await waitForSignal<{ by: string }>('approval', { schema: Approval })).by
  } catch (error) {
    return (error as Error).message
  }
}

const routes = defineRoutes({
  typed: { input: tupleSchema([]), output: Type.String(), handler: typed, source: 'test' },
  order: { input: tupleSchema([Type.String()]), output: Type.String(), handler: order, source: 'test' },
  later: { input: tupleSchema([]), output: Type.Any(), handler: later, source: 'test' },
})
const client = createClient<{
  order: { args: [string]; output: string }
  later: { args: []; output: unknown[] }
  typed: { args: []; output: string }
}>({ order: 1, later: 0, typed: 0 })

describe('signals', () => {
  let env: TestEnvironment<typeof routes>
  beforeEach(async () => {
    reserved = 0
    env = await createTestEnvironment({ routes })
  })
  afterEach(() => env.close())

  it('resumes a coroutine waiting for a signal with its payload; the wait holds nothing', async () => {
    const id = await client.order('o1')
    await env.runUntilIdle()
    expect((await env.inspect(id)).state).toBe('suspended')
    await env.advanceTime('12h')
    // The generated client's member sends it too (the same Signal request).
    const sent = await client.order.signal(id, 'approval', { approved: true, by: 'ada' })
    expect(sent).toMatchObject({ dispatchId: id, state: 'suspended' })
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'o1 approved by ada' })
    expect(reserved).toBe(1)
  })

  it('times the wait out with a SignalTimeoutError', async () => {
    const id = await client.order('o2')
    await env.advanceTime('1d')
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'o2 timed out waiting for approval' })
  })

  it('keeps signals sent before the coroutine waits, one per wait, in order', async () => {
    const id = await client.later()
    await env.runUntilIdle()
    const calls = createCallServiceClient()
    await calls.signal(id, 'go', 1)
    await calls.signal(id, 'go', { second: true })
    await calls.signal(id, 'bare')
    await env.runUntilIdle()
    expect((await env.inspect(id)).state).toBe('suspended')
    await env.advanceTime('1h')
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: [1, { second: true }, null] })
  })

  it('checks the payload against the schema given', async () => {
    const good = await client.typed()
    const bad = await client.typed()
    await env.runUntilIdle()
    await client.typed.signal(good, 'approval', { by: 'ada' })
    await client.typed.signal(bad, 'approval', { by: 7 })
    expect((await env.waitFor(good)).output).toBe('ada')
    expect((await env.waitFor(bad)).output).toMatch(
      /payload of signal "approval" does not match its schema: \$\/by must be string/,
    )
  })

  it('refuses a signal to a finished or unknown call', async () => {
    const id = await client.order('o3')
    await env.runUntilIdle()
    const calls = createCallServiceClient()
    await calls.signal(id, 'approval', { approved: false, by: 'bob' })
    expect(await env.waitFor(id)).toMatchObject({ output: 'o3 rejected by bob' })
    await expect(calls.signal(id, 'approval', {})).rejects.toThrow(/cannot signal approval call .*: it is succeeded/)
    await expect(calls.signal('0000000000000000000000000a', 'approval')).rejects.toThrow(/no call with dispatch id/)
  })
})
