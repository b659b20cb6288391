import { Dispatch, dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify from 'fastify'
import { expect, it } from 'vitest'
import { runRequest, send } from './helpers/endpointApp.js'
import { routes } from './helpers/testRoutes.js'

it('new Dispatch(app, { routes }) registers the plugin (the seed SDK’s shape)', async () => {
  const app = Fastify()
  new Dispatch(app, { routes, verificationKey: false })
  await app.ready()
  const response = await send(app, runRequest('add', [2, 2]), { sign: false })
  expect(response.json().exit.result.output.value).toBe(4)
  await app.close()
})

it('a registration without routes fails start-up with DSP2205', async () => {
  const app = Fastify()
  new Dispatch(app, { verificationKey: false } as never)
  await expect(app.ready()).rejects.toMatchObject({ code: 'DSP2205' })
  await app.close()
})

it.each([0, -1, 1.5, Number.NaN])(
  'a maxJournalBytes of %s fails start-up with DSP2205 naming the option',
  async (bad) => {
    const app = Fastify()
    await expect(
      app.register(dispatchPlugin, { routes, verificationKey: false, maxJournalBytes: bad }),
    ).rejects.toMatchObject({
      code: 'DSP2205',
      message: expect.stringMatching(/maxJournalBytes must be a positive integer/),
    })
    await app.close()
  },
)
