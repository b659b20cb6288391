import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { all, createClient, defineRoutes, race, random, sleep, tupleSchema } from 'dispatch-functions'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { coroutineTuning } from '../../runtime/coroutine/coroutine.js'
import type { RunRequest, RunResponse } from '../../schemas/run.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { CoroutineDriver, RUN, startEndpoint } from './helpers/coroutineDriver.js'
import { coroutineRoutes } from './helpers/coroutineRoutes.js'

// The replay engine (runtime/coroutine) at its edges: the Poll bounds it asks for, executions it
// abandons, replays that cannot make progress, hostile coroutine state and results that answer no
// call of the journal (docs/protocol.md §13), and the determinism of race and of concurrent coroutines.

const client = createClient<{
  double: { args: [number]; output: number }
  echo: { args: [string]; output: string }
}>({ double: 1, echo: 1 })

const SOURCE = 'test/runtime/coroutine.replayEdgeCases.test.ts'

const state = {
  awaitFirst: false,
  /** Objects an abandoned execution still holds, watched for collection. */
  collected: new Set<string>(),
  winners: [] as unknown[],
  /** What `charged` received from its call. */
  seen: [] as unknown[],
}
const registry = new FinalizationRegistry<string>((tag) => state.collected.add(tag))

const routes = defineRoutes({
  ...coroutineRoutes,
  twice: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    // The same durable promise twice in one all(): one result is all it can ever get.
    handler: async () => {
      const a = client.double.call(1)
      return all([a, a])
    },
  },
  callAndTimer: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    handler: async () => all([client.double.call(1), sleep('1h')]),
  },
  abandoned: {
    source: SOURCE,
    input: tupleSchema([Type.String()]),
    output: undefined,
    // Suspends while a plain timer is pending (a durable call is live); the timer fires after the
    // turn ended and the function starts another durable call on a closed coroutine.
    handler: async (tag: string) => {
      const held = { tag, payload: new Array(1000).fill(tag) }
      registry.register(held, tag)
      const a = client.double.call(1)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const b = await client.double.call(2)
      return held.payload.length + (await a) + b
    },
  },
  nondeterministic: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    // Breaks the rule "branch only on arguments and durable results" (state.awaitFirst flips
    // between turns): the replay then waits on an operation the journal resolves only later.
    handler: async () => {
      const a = client.double.call(1)
      if (state.awaitFirst) await a
      const b = client.double.call(2)
      const first = await race([a, b])
      return client.double.call(first)
    },
  },
  charged: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    // A random() then a call: position 0 is a value, position 1 the call whose result matters.
    handler: async () => {
      random()
      const paid = await client.double.call(21)
      state.seen.push(paid)
      return paid
    },
  },
  coin: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      const r = random()
      await client.double.call(1)
      return { r, type: typeof r }
    },
  },
  deepRace: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    // a's result is handed over first, but through a deeper chain: b wins, on every replay.
    handler: async () => {
      const a = client.double.call(1).then((x) => x)
      const deep = a.then((x) => x).then((x) => `a${x}`)
      const b = client.double.call(2).then((x) => `b${x}`)
      const winner = await race([deep, b])
      state.winners.push(winner)
      const echoed = await client.echo.call(winner)
      return echoed
    },
  },
})

let app: FastifyInstance
let url: string
beforeAll(async () => {
  ;({ app, url } = await startEndpoint({ routes }))
})
afterAll(() => app.close())
beforeEach(() => {
  state.awaitFirst = false
  state.winners.length = 0
  state.seen.length = 0
})

/** One Run request, failing (rather than hanging the test) when the endpoint does not answer in time. */
async function post(request: RunRequest, timeoutMs = 10_000): Promise<RunResponse> {
  const response = await fetch(url + RUN, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(timeoutMs),
  })
  return (await response.json()) as RunResponse
}

const input = (value: unknown[]) => ({ '@type': VALUE_TYPE_URL, value })
const output = (value: unknown) => ({ '@type': VALUE_TYPE_URL, value })

describe('minResults / maxResults', () => {
  it('never asks for more results than the Poll can get (the same promise twice in all())', async () => {
    const d = new CoroutineDriver(url)
    expect(await d.run('twice', [])).toEqual({ status: 'STATUS_OK', output: [2, 2] })
    const poll = d.polls[0]!.poll
    expect(poll.calls).toHaveLength(1)
    expect(poll.maxResults).toBe(1)
    expect(poll.minResults).toBe(1)
  })

  it('a timer in all() is no result to wait for: minResults stays within maxResults', async () => {
    const first = await post({ function: 'callAndTimer', input: input([]) })
    const poll = first.poll!
    expect(poll.calls).toHaveLength(1)
    expect(poll.maxWait).toBeDefined()
    expect(poll.minResults).toBe(1)
    expect(poll.maxResults).toBe(1)
  })
})

describe('abandoned executions', () => {
  it('a function that starts a durable call after its turn ended is not kept alive by the engine', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const tags = Array.from({ length: 5 }, (_, i) => `abandoned-${i}`)
    for (const tag of tags) {
      const response = await post({ function: 'abandoned', input: input([tag]) })
      expect(response.poll?.calls).toHaveLength(1)
    }
    // Let the plain timers fire: each function then starts a durable call on its closed coroutine.
    await new Promise((resolve) => setTimeout(resolve, 100))
    for (let i = 0; i < 20 && !tags.every((t) => state.collected.has(t)); i++) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(tags.filter((t) => !state.collected.has(t))).toEqual([])
  })
})

describe('replay that cannot make progress', () => {
  it('a replay stalled on an operation its journal resolves only later answers INCOMPATIBLE_STATE, not never', async () => {
    const saved = coroutineTuning.replayStallMs
    coroutineTuning.replayStallMs = 300
    try {
      const first = await post({ function: 'nondeterministic', input: input([]) })
      expect(first.poll?.calls?.map((c) => c.correlationId)).toEqual(['0', '1'])
      // b (position 1) comes back first: the race picks it, the function calls double(4).
      const second = await post({
        function: 'nondeterministic',
        pollResult: {
          coroutineState: first.poll!.coroutineState!,
          results: [{ correlationId: '1', output: output(4) }],
        },
      })
      expect(second.poll?.calls?.map((c) => c.correlationId)).toEqual(['2'])
      // Now the function awaits a before starting b: the recorded batch [1] can never be replayed.
      state.awaitFirst = true
      const third = await post({
        function: 'nondeterministic',
        pollResult: {
          coroutineState: second.poll!.coroutineState!,
          results: [{ correlationId: '2', output: output(8) }],
        },
      })
      expect(third.status).toBe('STATUS_INCOMPATIBLE_STATE')
      expect(third.exit?.result?.error?.message).toMatch(/nondeterministic .*operation #1/)
    } finally {
      coroutineTuning.replayStallMs = saved
    }
  })
})

describe('hostile coroutine state (an unsigned endpoint accepts any PollResult)', () => {
  it('a journaled random() that is not a number is refused, not handed to the function', async () => {
    const first = await post({ function: 'coin', input: input([]) })
    const journal = JSON.parse(Buffer.from(first.poll!.coroutineState!, 'base64').toString('utf8'))
    expect(journal.ops[0]).toMatchObject({ k: 'value', t: 'random' })
    journal.ops[0].x = 'not a number'
    const resumed = await post({
      function: 'coin',
      pollResult: {
        coroutineState: Buffer.from(JSON.stringify(journal)).toString('base64'),
        results: [{ correlationId: '1', output: output(2) }],
      },
    })
    expect(resumed.status).toBe('STATUS_INCOMPATIBLE_STATE')
    expect(resumed.exit?.result?.error?.message).toMatch(/not a journal/)
  })
})

describe('results handed back to a coroutine must answer the calls its journal sent', () => {
  const resume = async (fn: string, coroutineState: string, results: { correlationId?: string; output: unknown }[]) =>
    post({ function: fn, pollResult: { coroutineState, results: results as never } })

  it.each<[string, { correlationId?: string; output: unknown }[], RegExp]>([
    ['an unknown correlation id', [{ correlationId: '7', output: output(1) }], /"7", which is no operation/],
    [
      'the position of a value, not a call',
      [{ correlationId: '0', output: output(1) }],
      /"0", which is random\(\), not a call/,
    ],
    ['no correlation id (proto3: zero, the value)', [{ output: output(1) }], /"0", which is random\(\), not a call/],
    [
      'the same call twice',
      [
        { correlationId: '1', output: output(42) },
        { correlationId: '1', output: output(-1) },
      ],
      /"1", which is a call of double that already has its result/,
    ],
  ])('a PollResult with %s is INCOMPATIBLE_STATE (DSP2243) and the function never sees it', async (_, results, why) => {
    const first = await post({ function: 'charged', input: input([]) })
    expect(first.poll?.calls?.map((c) => c.correlationId)).toEqual(['1'])
    const resumed = await resume('charged', first.poll!.coroutineState!, results)
    expect(resumed.status).toBe('STATUS_INCOMPATIBLE_STATE')
    expect(resumed.exit?.result?.error?.message).toContain('DSP2243')
    expect(resumed.exit?.result?.error?.message).toMatch(why)
    expect(state.seen).toEqual([])
  })

  it('a result for a call that already got its result in an earlier turn is refused, not a replacement', async () => {
    const first = await post({ function: 'charged', input: input([]) })
    const second = await resume('charged', first.poll!.coroutineState!, [{ correlationId: '1', output: output(42) }])
    expect(second.exit?.result?.output?.value).toBe(42)
    expect(state.seen).toEqual([42])
    // A journal that recorded the result, as a later turn would carry it, with a second result for it.
    const journal = JSON.parse(Buffer.from(first.poll!.coroutineState!, 'base64').toString('utf8'))
    journal.ops[1].r = { o: 42 }
    journal.batches.push([1])
    const later = Buffer.from(JSON.stringify(journal)).toString('base64')
    const replaced = await resume('charged', later, [{ correlationId: '1', output: output(-1) }])
    expect(replaced.status).toBe('STATUS_INCOMPATIBLE_STATE')
    expect(replaced.exit?.result?.error?.message).toMatch(/DSP2243.*already has its result/)
    expect(state.seen).toEqual([42])
  })

  it("a coroutine's state handed to another function is INCOMPATIBLE_STATE", async () => {
    const first = await post({ function: 'charged', input: input([]) })
    const resumed = await resume('coin', first.poll!.coroutineState!, [{ correlationId: '1', output: output(42) }])
    expect(resumed.status).toBe('STATUS_INCOMPATIBLE_STATE')
    expect(resumed.exit?.result?.error?.message).toContain('belongs to charged, not to coin')
    expect(state.seen).toEqual([])
  })
})

describe('replays stay deterministic', () => {
  it('race over promise chains of different depths picks the same winner on every replay', async () => {
    const first = await post({ function: 'deepRace', input: input([]) })
    expect(first.poll?.calls?.map((c) => c.correlationId)).toEqual(['0', '1'])
    // Both results in one PollResult, a's first: b's shallower chain still settles first.
    const second = await post({
      function: 'deepRace',
      pollResult: {
        coroutineState: first.poll!.coroutineState!,
        results: [
          { correlationId: '0', output: output(2) },
          { correlationId: '1', output: output(4) },
        ],
      },
    })
    expect(second.poll?.calls?.[0]?.input?.value).toEqual(['b4'])
    const third = await post({
      function: 'deepRace',
      pollResult: {
        coroutineState: second.poll!.coroutineState!,
        results: [{ correlationId: '2', output: output('b4') }],
      },
    })
    expect(third.exit?.result?.output?.value).toBe('b4')
    expect(state.winners).toEqual(['b4', 'b4'])
  })

  it('coroutines running at the same time in one process keep their own journals', async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        new CoroutineDriver(url, 'shuffle', i + 1).run('sumDoubles', [Array.from({ length: i + 3 }, (_, k) => k + i)]),
      ),
    )
    runs.forEach((outcome, i) => {
      const ns = Array.from({ length: i + 3 }, (_, k) => k + i)
      expect(outcome).toEqual({ status: 'STATUS_OK', output: ns.reduce((s, n) => s + 2 * n, 0) })
    })
  })
})
