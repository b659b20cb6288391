import { createClient, defineRoutes, step, tupleSchema } from 'dispatch-functions'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CoroutineDriver, startEndpoint } from './helpers/coroutineDriver.js'

// What a step does to the journal, against a real endpoint driven by the protocol-level test
// scheduler (test/scheduler/coroutineSteps.test.ts runs steps through the real scheduler).

const client = createClient<{ echo: { args: [number]; output: number } }>({ echo: 1 })
const flags = { rename: false, ranBig: 0 }

const routes = defineRoutes({
  echo: { input: tupleSchema([Type.Number()]), output: Type.Number(), handler: (n: number) => n, source: 'test' },
  big: {
    input: tupleSchema([Type.Integer()]),
    output: Type.Number(),
    source: 'test',
    handler: async (size: number) => {
      const text = await step('big', () => {
        flags.ranBig++
        return 'x'.repeat(size)
      })
      return (await client.echo.call(1)) + text.length
    },
  },
  renamed: {
    input: tupleSchema([]),
    output: Type.Number(),
    source: 'test',
    handler: async () => {
      await step(flags.rename ? 'after' : 'before', () => 1)
      flags.rename = true
      return client.echo.call(2)
    },
  },
})

let app: FastifyInstance
let url: string
beforeAll(async () => {
  ;({ app, url } = await startEndpoint({ routes, maxJournalBytes: 64 * 1024 }))
})
afterAll(() => app.close())

describe('durable steps in the journal', () => {
  it('count against the journal bound: a step result over it fails the call for good with DSP2231', async () => {
    expect(await new CoroutineDriver(url).run('big', [1000])).toEqual({ status: 'STATUS_OK', output: 1001 })
    expect(flags.ranBig).toBe(1)
    const outcome = await new CoroutineDriver(url).run('big', [100_000])
    expect(outcome.status).toBe('STATUS_PERMANENT_ERROR')
    expect(outcome.error!.message).toMatch(/journal of coroutine big grew to \d+ bytes, over the limit of 65536/)
  })

  it('a replay that asks for a step of another name diverged', async () => {
    const outcome = await new CoroutineDriver(url).run('renamed', [])
    expect(outcome.status).toBe('STATUS_INCOMPATIBLE_STATE')
    expect(outcome.error!.message).toMatch(
      /renamed diverged from its journal at operation #0: it recorded step "before", the replay asks for step "after"/,
    )
  })
})
