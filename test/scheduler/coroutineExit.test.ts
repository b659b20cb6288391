import { Type } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { any, createClient, defineRoutes, race, sleep, tupleSchema } from '../../runtime/index.js'
import { createTestEnvironment, type TestEnvironment } from '../../testing/index.js'

// Children still running when their coroutine ends (a race's loser, `any` after its first success)
// are cancelled with the parent's exit, through the real scheduler and endpoint code; a child
// started with `{ detached: true }` keeps running.

async function slow(label: string): Promise<string> {
  await sleep('1h')
  return `slow ${label}`
}
async function fast(label: string): Promise<string> {
  return `fast ${label}`
}
async function racer(detached: boolean): Promise<string> {
  return race([client.slow.call('loser', { detached }), client.fast.call('winner')])
}
async function firstSuccess(): Promise<string> {
  return any([client.slow.call('a'), client.fast.call('b'), client.slow.call('c')])
}

const routes = defineRoutes({
  slow: { input: tupleSchema([Type.String()]), output: Type.String(), handler: slow, source: 'test' },
  fast: { input: tupleSchema([Type.String()]), output: Type.String(), handler: fast, source: 'test' },
  racer: { input: tupleSchema([Type.Boolean()]), output: Type.String(), handler: racer, source: 'test' },
  firstSuccess: { input: tupleSchema([]), output: Type.String(), handler: firstSuccess, source: 'test' },
})
const client = createClient<{
  slow: { args: [string]; output: string }
  fast: { args: [string]; output: string }
  racer: { args: [boolean]; output: string }
  firstSuccess: { args: []; output: string }
}>({ slow: 1, fast: 1, racer: 1, firstSuccess: 0 })

describe('children of a coroutine that ends', () => {
  let env: TestEnvironment<typeof routes>
  beforeEach(async () => {
    env = await createTestEnvironment({ routes })
  })
  afterEach(() => env.close())

  const states = async (id: string) =>
    Object.fromEntries((await env.inspect(id)).children.map((c) => [(c.info.input!.value as string[])[0], c.state]))

  it("cancels a race's loser when the parent returns", async () => {
    const id = await client.racer(false)
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'fast winner' })
    expect(await states(id)).toEqual({ loser: 'cancelled', winner: 'succeeded' })
  })

  it('cancels what any() no longer needs after its first success', async () => {
    const id = await client.firstSuccess()
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'fast b' })
    expect(await states(id)).toEqual({ a: 'cancelled', b: 'succeeded', c: 'cancelled' })
  })

  it('keeps a detached child running after its parent ended', async () => {
    const id = await client.racer(true)
    expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'fast winner' })
    expect(await states(id)).toEqual({ loser: 'suspended', winner: 'succeeded' })
    await env.advanceTime('1h')
    const loser = (await env.inspect(id)).children.find((c) => c.function === 'slow')!
    expect(await env.waitFor(loser.dispatchId)).toMatchObject({ state: 'succeeded', output: 'slow loser' })
  })
})
