import { createTestEnvironment, type TestEnvironment } from 'dispatch-functions-tools/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dispatchBatch, dispatchClient } from '../src/dispatch.gen/client.gen.js'
import { routes } from '../src/dispatch.gen/routes.gen.js'
import { startTarget, type Target } from '../src/target.js'

// The quickstart's publish function against its local webhook target (which fails some first
// deliveries on purpose), with the test environment: retries happen when the test moves the clock.
describe('examples/quickstart', () => {
  let env: TestEnvironment<typeof routes>
  let target: Target
  beforeEach(async () => {
    env = await createTestEnvironment({ routes })
    target = await startTarget()
  })
  afterEach(async () => {
    await env.close()
    await target.close()
  })

  it('publishes every payload, retrying the ones the webhook refused at first', async () => {
    const ids = await dispatchBatch(
      Array.from({ length: 20 }, (_, n) => dispatchClient.publish.build(target.url, { n, message: `hello #${n}` })),
    )
    await env.runUntilIdle()
    // Every 5th payload got a 503 and every 7th a 429 at first: retried after a backoff, not yet.
    expect(target.delivered.size).toBeLessThan(20)
    await env.advanceTime('1m')
    const calls = await Promise.all(ids.map((id) => env.waitFor(id)))
    expect(calls.every((c) => c.state === 'succeeded')).toBe(true)
    expect(target.delivered.size).toBe(20)
    const retried = calls.filter((c) => c.attempts.length === 2).map((c) => c.attempts[0]!.status)
    expect(retried).toContain('STATUS_TEMPORARY_ERROR')
    expect(retried).toContain('STATUS_THROTTLED')
  })
})
