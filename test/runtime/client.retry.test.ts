import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { BUSY_RETRIES, retryAfterMs } from '../../runtime/client/dispatchBatch.js'
import { createClient, DispatchError } from '../../runtime/index.js'

// The client and a scheduler that refuses for a while (back-pressure 429, a store that cannot write 503):
// nothing of a refused request was kept, so the client sends it again after Retry-After.

const apps: ReturnType<typeof Fastify>[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
})

async function scheduler(answers: (n: number) => { status: number; body: unknown; retryAfter?: string }) {
  const app = Fastify()
  apps.push(app)
  let requests = 0
  app.post('/dispatch.sdk.v1.DispatchService/Dispatch', async (_request, reply) => {
    const answer = answers(++requests)
    if (answer.retryAfter !== undefined) reply.header('retry-after', answer.retryAfter)
    return reply.code(answer.status).send(answer.body)
  })
  const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  const client = createClient<{ f: { args: [number]; output: undefined } }>(
    { f: 1 },
    { apiUrl, apiKey: 'k', endpoint: 'http://127.0.0.1:9' },
  )
  return { client, requests: () => requests }
}

describe('the client under back-pressure', () => {
  it('sends a refused dispatch again after Retry-After, and returns the ids once accepted', async () => {
    const s = await scheduler((n) =>
      n <= 2
        ? { status: n === 1 ? 429 : 503, body: { code: 'unavailable', message: 'busy' }, retryAfter: '0' }
        : { status: 200, body: { dispatchIds: ['id-1'] } },
    )
    expect(await s.client.f(1)).toBe('id-1')
    expect(s.requests()).toBe(3)
  })

  it(`gives up after ${BUSY_RETRIES} retries with DSP2003 saying nothing was kept`, async () => {
    const s = await scheduler(() => ({
      status: 429,
      body: { code: 'resource_exhausted', message: 'busy' },
      retryAfter: '0',
    }))
    const error = await s.client.f(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DispatchError)
    expect((error as DispatchError).code).toBe('DSP2003')
    expect((error as DispatchError).message).toMatch(/HTTP 429 resource_exhausted busy/)
    expect((error as DispatchError).hint).toMatch(/overloaded through 6 retries; nothing of this request was kept/)
    expect(s.requests()).toBe(BUSY_RETRIES + 1)
  })

  it('does not send other refusals again', async () => {
    const s = await scheduler(() => ({ status: 400, body: { code: 'invalid_argument', message: 'call 0: bad' } }))
    await expect(s.client.f(1)).rejects.toThrow(/HTTP 400 invalid_argument call 0: bad/)
    expect(s.requests()).toBe(1)
  })

  it('reads Retry-After as seconds or an HTTP date, bounded', () => {
    expect(retryAfterMs(null)).toBe(1000)
    expect(retryAfterMs('2')).toBe(2000)
    expect(retryAfterMs('86400')).toBe(30_000)
    expect(retryAfterMs(new Date(10_000).toUTCString(), 7_000)).toBe(3000)
    expect(retryAfterMs('soon')).toBe(1000)
  })
})
