import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify from 'fastify'
import { Type } from 'typebox'
import { Agent, request } from 'undici'
import { expect, it } from 'vitest'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { RUN, runRequest } from './helpers/endpointApp.js'

it('closing the server lets a request in flight finish and then closes its keep-alive connection', async () => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let started!: () => void
  const running = new Promise<void>((resolve) => {
    started = resolve
  })
  const routes = defineRoutes({
    slow: {
      source: 'test/runtime/endpoint.close.test.ts',
      input: tupleSchema([]),
      output: Type.String(),
      handler: async () => {
        started()
        await gate
        return 'done'
      },
    },
  })
  const app = Fastify()
  await app.register(dispatchPlugin, { routes, verificationKey: false })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  // A pool that keeps connections for a minute, like the scheduler's.
  const agent = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
  try {
    const answer = request(url + RUN, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(runRequest('slow', [])),
    })
    await running
    let closed = false
    const closing = app.close().then(() => {
      closed = true
    })
    // Once the server stopped listening, close() is under way (its preClose hooks have run).
    const deadline = Date.now() + 10_000
    while (app.server.listening && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(app.server.listening).toBe(false)
    release()
    const response = await answer
    expect(response.statusCode).toBe(200)
    expect(response.headers['connection']).toBe('close')
    expect(JSON.parse(await response.body.text())).toMatchObject({ exit: { result: { output: { value: 'done' } } } })
    await closing
    expect(closed).toBe(true)
  } finally {
    release()
    await agent.close()
  }
})
