// The same environment under node:test (no vitest): `node --import tsx --test examples/fanout/test/followUp.nodetest.ts`.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createTestEnvironment } from 'dispatch-functions-tools/testing'
import { dispatchClient } from '../src/dispatch.gen/client.gen.js'
import { routes } from '../src/dispatch.gen/routes.gen.js'

test('followUp sleeps ten minutes', async () => {
  const env = await createTestEnvironment({ routes })
  try {
    env.mock('getUser', async (id) => ({ id, name: 'Ada', email: 'ada@example.test' }))
    const id = await dispatchClient.followUp('u1')
    await env.advanceTime('10m')
    assert.equal((await env.waitFor(id)).output, 'followed up with Ada <ada@example.test>')
  } finally {
    await env.close()
  }
})
