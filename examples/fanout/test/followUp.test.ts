// The first test of docs/testing.md, as it is printed there.
import { TemporaryError } from 'dispatch-functions'
import { createTestEnvironment, type TestEnvironment } from 'dispatch-functions-tools/testing'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { dispatchClient } from '../src/dispatch.gen/client.gen.js'
import { routes } from '../src/dispatch.gen/routes.gen.js'

let env: TestEnvironment<typeof routes>
beforeEach(async () => {
  env = await createTestEnvironment({ routes })
})
afterEach(() => env?.close()) // env is unset when beforeEach failed

it('retries a lookup that fails twice, and finishes after the ten-minute sleep', async () => {
  let failures = 0
  const getUser = env.mock('getUser', async (id) => {
    if (failures++ < 2) throw new TemporaryError('directory restarting') // retried after a backoff
    return { id, name: 'Ada', email: 'ada@example.test' }
  })
  const id = await dispatchClient.followUp('u1') // the generated client, unchanged
  await env.advanceTime('10m') // fires the durable sleep, then the retries' backoffs
  await env.advanceTime('1m')
  const call = await env.waitFor(id)
  expect(call.state).toBe('succeeded')
  expect(call.output).toBe('followed up with Ada <ada@example.test>')
  expect(call.children[0]!.attempts.map((a) => a.status)).toEqual([
    'STATUS_TEMPORARY_ERROR',
    'STATUS_TEMPORARY_ERROR',
    'STATUS_OK',
  ])
  expect(getUser.calls).toEqual([['u1'], ['u1'], ['u1']])
})
