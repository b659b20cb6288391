// An order that waits for an approval (a signal) with a one-day timeout, run on the test
// environment's clock: the day passes in milliseconds.
import { createTestEnvironment, type TestEnvironment } from 'dispatch-functions-tools/testing'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { dispatchClient } from '../src/dispatch.gen/client.gen.js'
import { routes } from '../src/dispatch.gen/routes.gen.js'

let env: TestEnvironment<typeof routes>
beforeEach(async () => {
  env = await createTestEnvironment({ routes })
  env.mock('getUser', async (id) => ({ id, name: 'Ada', email: 'ada@example.test' }))
})
afterEach(() => env.close())

it('charges once the approval comes, hours later', async () => {
  const id = await dispatchClient.approveOrder('u1')
  await env.advanceTime('5h')
  expect((await env.inspect(id)).state).toBe('suspended')
  await dispatchClient.approveOrder.signal(id, 'approval', { approved: true, by: 'grace' })
  expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'approved: charged ada@example.test' })
})

it('gives up after a day without an answer', async () => {
  const id = await dispatchClient.approveOrder('u2')
  await env.advanceTime('1d')
  expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'no approval for Ada within a day' })
})
