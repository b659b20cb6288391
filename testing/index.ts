/**
 * @module
 * dispatch-functions-tools/testing: test dispatch functions and coroutines in milliseconds. A test
 * environment runs the real scheduler in the test's process on an in-memory store, delivers to the
 * route table in-process, and owns the clock: a durable `sleep('1d')`, a retry's backoff or a
 * delayed call happens when the test moves time, not when the wall clock does. Works with vitest,
 * node:test and any runner that awaits promises.
 *
 * @example
 * ```ts
 * import { createTestEnvironment } from 'dispatch-functions-tools/testing'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * import { dispatchClient } from './dispatch.gen/client.gen.js'
 *
 * const env = await createTestEnvironment({ routes })
 * env.mock('getUser', async (id) => ({ id, name: 'Ada' }))
 * const id = await dispatchClient.notifyAll(['u1', 'u2'])
 * await env.advanceTime('10m')
 * const call = await env.waitFor(id) // state, output, error, attempts, children
 * await env.close()
 * ```
 */
export type {
  Mock,
  MockImplementation,
  TestCall,
  TestEnvironment,
  TestEnvironmentOptions,
} from './createTestEnvironment.js'
export { createTestEnvironment } from './createTestEnvironment.js'
