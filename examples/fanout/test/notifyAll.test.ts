import { TemporaryError } from 'dispatch-functions'
import { createTestEnvironment, type TestEnvironment } from 'dispatch-functions-tools/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dispatchClient } from '../src/dispatch.gen/client.gen.js'
import { routes } from '../src/dispatch.gen/routes.gen.js'

// The fan-out example's coroutines, tested with the test environment: the real scheduler in this
// process, the generated client unchanged, time moved by the test.
describe('examples/fanout', () => {
  let env: TestEnvironment<typeof routes>
  beforeEach(async () => {
    env = await createTestEnvironment({ routes })
    // The delivery routes answer after real timers in the demo; here they answer at once.
    env.mock('slowA', async () => 'sms' as const)
    env.mock('slowB', async () => 'email' as const)
  })
  afterEach(() => env.close())

  it('notifyAll: looks users up in parallel (one lookup fails twice first), races the routes, reports the declined charge', async () => {
    const failures = new Map<string, number>()
    const getUser = env.mock('getUser', async (id) => {
      const failed = failures.get(id) ?? 0
      if (id === 'u2' && failed < 2) {
        failures.set(id, failed + 1)
        throw new TemporaryError('the user directory is restarting')
      }
      return { id, name: `User ${id.slice(1)}`, email: `${id}@example.test` }
    })
    const id = await dispatchClient.notifyAll(['u1', 'u2', 'u3'])
    await env.advanceTime('1m') // the retries' backoffs and the one-second durable sleep
    const call = await env.waitFor(id)
    expect(call).toMatchObject({
      state: 'succeeded',
      output: { sent: 3, first: 'sms', charged: false, chargeError: expect.stringMatching(/declined/) },
    })
    expect(getUser.calls.filter(([user]) => user === 'u2')).toHaveLength(3)
    const lookups = call.children.filter((c) => c.function === 'getUser')
    expect(lookups.map((c) => c.attempts.length).sort()).toEqual([1, 1, 3])
    expect(call.children.find((c) => c.function === 'charge')).toMatchObject({
      state: 'failed',
      status: 'STATUS_PERMANENT_ERROR',
    })
  })
})
