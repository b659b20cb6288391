import { createClient, defineRoutes, patched, tupleSchema } from 'dispatch-functions'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { CoroutineDriver, startEndpoint } from './helpers/coroutineDriver.js'

// Declared versions and patched(), against a real endpoint driven by the protocol-level test
// scheduler. A deploy between turns is simulated by a flag the code reads: the child `echo(2)` of
// the old code flips it while it runs, so the parent's next turn runs "the new code".

const client = createClient<{ echo: { args: [number]; output: number } }>({ echo: 1 })
const release = { patched: false, deployOnTwo: false }

const routes = defineRoutes({
  echo: {
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    source: 'test',
    handler: (n: number) => {
      if (n === 2 && release.deployOnTwo) release.patched = true
      return n
    },
  },
  checkout: {
    input: tupleSchema([]),
    output: Type.Array(Type.Unknown()),
    source: 'test',
    version: 3,
    handler: async () => {
      const a = await client.echo.call(1)
      // The patch: new code asks patched('x') here; old code did not.
      const gate = release.patched ? patched('x') : false
      const b = await client.echo.call(gate ? 20 : 2)
      const c = await client.echo.call(3)
      return [a, b, c, release.patched ? patched('y') : 'no y']
    },
  },
})

let app: FastifyInstance
let url: string
beforeAll(async () => {
  ;({ app, url } = await startEndpoint({ routes }))
})
afterAll(() => app.close())

describe('declared versions and patched()', () => {
  it('a new run takes the patched branch and journals the marker; the journal records the declared version', async () => {
    release.patched = true
    release.deployOnTwo = false
    const d = new CoroutineDriver(url)
    expect(await d.run('checkout', [])).toEqual({ status: 'STATUS_OK', output: [1, 20, 3, true] })
    const journal = JSON.parse(Buffer.from(d.polls.at(-1)!.poll.coroutineState!, 'base64').toString())
    expect(journal.ver).toBe('@3')
    expect(journal.ops.slice(0, 2)).toEqual([expect.objectContaining({ k: 'call' }), { k: 'patch', i: 'x' }])
  })

  it('a run recorded before the patch replays the old branch under the new code, and takes later patches', async () => {
    release.patched = false
    release.deployOnTwo = true
    const d = new CoroutineDriver(url)
    // echo(2) of the old code ran, then "the deploy": the next turns replay under the patched code.
    expect(await d.run('checkout', [])).toEqual({ status: 'STATUS_OK', output: [1, 2, 3, true] })
    expect(d.sent.filter((s) => s.function === 'checkout' && s.resumed)).toHaveLength(3)
  })

  it('a resumed turn whose journal has another declared version is INCOMPATIBLE_STATE', async () => {
    release.patched = true
    release.deployOnTwo = false
    const d = new CoroutineDriver(url)
    const first = await d.post({ function: 'checkout', input: { '@type': VALUE_TYPE_URL, value: [] } })
    const journal = JSON.parse(Buffer.from(first.poll!.coroutineState!, 'base64').toString())
    const state = Buffer.from(JSON.stringify({ ...journal, ver: '@2' })).toString('base64')
    const resumed = await d.post({
      function: 'checkout',
      pollResult: {
        coroutineState: state,
        results: [{ correlationId: '0', output: { '@type': VALUE_TYPE_URL, value: 1 } }],
      },
    })
    expect(resumed.status).toBe('STATUS_INCOMPATIBLE_STATE')
  })
})

describe('patched() outside a dispatch function', () => {
  it('is true, and refuses an empty id', () => {
    expect(patched('anything')).toBe(true)
    expect(() => patched('')).toThrow(expect.objectContaining({ code: 'DSP2261' }))
  })
})
