import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { coroutineTuning } from '../../runtime/coroutine/coroutine.js'
import { MAX_POLL_CALLS, type RunResponse } from '../../schemas/run.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { CoroutineDriver, type Order, startEndpoint } from './helpers/coroutineDriver.js'
import { coroutineRoutes, state } from './helpers/coroutineRoutes.js'

// The replay semantics of durable coroutines, ported from the Python SDK's scheduler tests, against
// a real endpoint driven by a protocol-level test scheduler (test/scheduler/coroutines*.test.ts run
// them through the real scheduler).

let app: FastifyInstance
let url: string
beforeAll(async () => {
  ;({ app, url } = await startEndpoint({ routes: coroutineRoutes }))
})
afterAll(() => app.close())
beforeEach(() => {
  state.diverge = false
  state.journaled.length = 0
})

const driver = (order: Order = 'fifo', seed = 1) => new CoroutineDriver(url, order, seed)

describe('durable calls', () => {
  it('starts children in the order the function started them, depth first under a sequential scheduler', async () => {
    const d = driver()
    const outcome = await d.run('tree', [2, 'r'])
    expect(outcome).toEqual({
      status: 'STATUS_OK',
      output: [
        'r',
        [
          ['ra', ['raa', 'rab']],
          ['rb', ['rba', 'rbb']],
        ],
      ],
    })
    const firstRuns = d.sent.filter((s) => !s.resumed).map((s) => s.function)
    expect(firstRuns).toEqual(['tree', 'tree', 'tree', 'tree', 'tree', 'tree', 'tree'])
    // The Poll of the root carries both children, correlated by position, and waits for both (all()).
    expect(d.polls[0]!.poll).toMatchObject({
      calls: [
        { function: 'tree', correlationId: '0', input: { '@type': VALUE_TYPE_URL, value: [1, 'ra'] } },
        { function: 'tree', correlationId: '1', input: { '@type': VALUE_TYPE_URL, value: [1, 'rb'] } },
      ],
      minResults: 2,
      maxResults: 2,
    })
  })

  it('a call DAG gives the same nested result whatever order the results arrive in', async () => {
    const expected = await driver('fifo').run('dag', [3])
    expect(expected.status).toBe('STATUS_OK')
    expect(expected.output).toMatchObject({ a: 6, b: 24, s: 60, e: 60 })
    for (const [order, seed] of [
      ['lifo', 1],
      ['shuffle', 1],
      ['shuffle', 7],
      ['shuffle', 42],
    ] as const) {
      expect(await driver(order, seed).run('dag', [3])).toEqual(expected)
    }
  })

  it('all: every value in order, or the failure of a child', async () => {
    expect(await driver().run('combinator', ['all', ['ok:1', 'ok:2', 'ok:3']])).toEqual({
      status: 'STATUS_OK',
      output: { value: [2, 4, 6] },
    })
    expect(await driver().run('combinator', ['all', ['ok:1', 'fail:Boom', 'ok:3']])).toEqual({
      status: 'STATUS_OK',
      output: { error: { type: 'Boom', message: 'Boom happened' } },
    })
    expect(await driver().run('combinator', ['all', []])).toEqual({ status: 'STATUS_OK', output: { value: [] } })
  })

  it('any: the first success; an AggregateError of every failure when all fail', async () => {
    expect(await driver().run('combinator', ['any', ['fail:A', 'ok:5', 'ok:6']])).toEqual({
      status: 'STATUS_OK',
      output: { value: 10 },
    })
    expect(await driver('lifo').run('combinator', ['any', ['ok:5', 'fail:A', 'ok:6']])).toEqual({
      status: 'STATUS_OK',
      output: { value: 12 },
    })
    expect(await driver().run('combinator', ['any', ['fail:A', 'fail:B']])).toEqual({
      status: 'STATUS_OK',
      output: {
        error: {
          aggregate: [
            { type: 'A', message: 'A happened' },
            { type: 'B', message: 'B happened' },
          ],
        },
      },
    })
  })

  it('race: the first to settle, success or failure', async () => {
    expect(await driver().run('combinator', ['race', ['ok:4', 'fail:A']])).toEqual({
      status: 'STATUS_OK',
      output: { value: 8 },
    })
    expect(await driver('lifo').run('combinator', ['race', ['ok:4', 'fail:A']])).toEqual({
      status: 'STATUS_OK',
      output: { error: { type: 'A', message: 'A happened' } },
    })
  })

  it('allSettled: every outcome, in order', async () => {
    expect(await driver('shuffle', 3).run('settled', [['ok:1', 'fail:X', 'ok:2']])).toEqual({
      status: 'STATUS_OK',
      output: [{ ok: 2 }, { failed: { type: 'X', message: 'X happened' } }, { ok: 4 }],
    })
  })

  it("a child's failure arrives as a CallFailedError with its type and message; rethrown, it fails the parent for good", async () => {
    expect(await driver().run('catcher', [false])).toEqual({
      status: 'STATUS_OK',
      output: { callFailed: true, type: 'CardDeclined', message: 'insufficient funds' },
    })
    const rethrown = await driver().run('catcher', [true])
    expect(rethrown.status).toBe('STATUS_PERMANENT_ERROR')
    expect(rethrown.error).toMatchObject({ type: 'CallFailedError' })
    expect(rethrown.error!.message).toMatch(/\(fail\) failed: CardDeclined: insufficient funds/)
  })

  it('a failing call nobody awaits neither crashes the process nor fails the parent', async () => {
    expect(await driver().run('forgetful', [])).toEqual({ status: 'STATUS_OK', output: 5 })
  })

  it('tail calls from a coroutine replace it', async () => {
    expect(await driver().run('tailer', [5])).toEqual({ status: 'STATUS_OK', output: 20 })
  })
})

describe('min and max results', () => {
  it('all() waits for every child; plain Promise.all resumes on each result', async () => {
    const grouped = driver()
    expect(await grouped.run('fanout', [5, false])).toEqual({ status: 'STATUS_OK', output: 20 })
    expect(grouped.polls.map((p) => [p.poll.calls?.length, p.poll.minResults, p.poll.maxResults])).toEqual([[5, 5, 5]])
    const plain = driver()
    expect(await plain.run('fanout', [3, true])).toEqual({ status: 'STATUS_OK', output: 6 })
    expect(plain.polls.map((p) => [p.poll.calls?.length, p.poll.minResults, p.poll.maxResults])).toEqual([
      [3, 1, 3],
      [0, 1, 2],
      [0, 1, 1],
    ])
  })

  it('a fan-out over the bound of a Poll goes out over several Polls, the counts clamped to 1..bound', async () => {
    // The bound is MAX_POLL_CALLS (10,000); lowered here so that the driver runs 1,500 children, not 10,500.
    const saved = coroutineTuning.maxCallsPerPoll
    coroutineTuning.maxCallsPerPoll = 1000
    const d = driver()
    try {
      expect(await d.run('fanout', [1500, false])).toEqual({ status: 'STATUS_OK', output: 1499 * 1500 })
    } finally {
      coroutineTuning.maxCallsPerPoll = saved
    }
    const first = d.polls[0]!.poll
    expect(first.calls).toHaveLength(1000)
    expect(first.minResults).toBe(1)
    expect(first.maxResults).toBe(1000)
    const second = d.polls[1]!.poll
    expect(second.calls).toHaveLength(500)
    expect(second.calls![0]!.correlationId).toBe('1000')
    for (const { poll } of d.polls) {
      expect(poll.minResults).toBeGreaterThanOrEqual(1)
      expect(poll.maxResults).toBeLessThanOrEqual(1000)
      expect(poll.minResults!).toBeLessThanOrEqual(poll.maxResults!)
    }
  })

  it('a fan-out within the bound, awaited with all(), goes out in one Poll and resumes once with every result', async () => {
    expect(coroutineTuning.maxCallsPerPoll).toBe(MAX_POLL_CALLS)
    const d = driver()
    expect(await d.run('fanout', [1500, false])).toEqual({ status: 'STATUS_OK', output: 1499 * 1500 })
    expect(d.polls.map((p) => [p.poll.calls?.length, p.poll.minResults, p.poll.maxResults])).toEqual([
      [1500, 1500, 1500],
    ])
  })
})

describe('distributed merge sort', () => {
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b)
  it.each([0, 1, 2, 10])('sorts %i values', async (n) => {
    const values = Array.from({ length: n }, (_, i) => (i * 7919) % 101)
    expect(await driver('shuffle', n).run('mergeSort', [values])).toEqual({
      status: 'STATUS_OK',
      output: sorted(values),
    })
  })

  it('sorts 1,000 values', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1009)
    expect(await driver('shuffle', 5).run('mergeSort', [values])).toEqual({
      status: 'STATUS_OK',
      output: sorted(values),
    })
  }, 60_000)
})

describe('replay', () => {
  it('now(), random() and uuid() are the same on every replay', async () => {
    const outcome = await driver().run('journaled', [])
    expect(outcome.status).toBe('STATUS_OK')
    expect(state.journaled).toHaveLength(2)
    expect(state.journaled[1]).toEqual(state.journaled[0])
    expect(outcome.output).toEqual(state.journaled[0])
  })

  it('a replay that asks for another operation than the journal recorded is INCOMPATIBLE_STATE', async () => {
    const d = driver()
    const first = await d.post({ function: 'diverging', input: { '@type': VALUE_TYPE_URL, value: [] } })
    expect(first.poll?.calls?.[0]?.function).toBe('double')
    state.diverge = true
    const resumed = await d.post({
      function: 'diverging',
      pollResult: {
        coroutineState: first.poll!.coroutineState!,
        results: [{ correlationId: '0', output: { '@type': VALUE_TYPE_URL, value: 2 } }],
      },
    })
    expect(resumed.status).toBe('STATUS_INCOMPATIBLE_STATE')
    expect(resumed.exit?.result?.error?.message).toMatch(
      /diverging diverged from its journal at operation #0: it recorded a call of double, the replay asks for a call of echo/,
    )
  })

  it('a changed function (another version) is INCOMPATIBLE_STATE; so is a state that is not a journal', async () => {
    const first = await driver().post({ function: 'tailer', input: { '@type': VALUE_TYPE_URL, value: [1] } })
    const other = await startEndpoint({
      routes: { ...coroutineRoutes, tailer: { ...coroutineRoutes.tailer, handler: async (n: number) => n } },
    })
    try {
      const resumed = await new CoroutineDriver(other.url).post({
        function: 'tailer',
        pollResult: { coroutineState: first.poll!.coroutineState!, results: [] },
      })
      expect(resumed.status).toBe('STATUS_INCOMPATIBLE_STATE')
      expect(resumed.exit?.result?.error?.message).toMatch(/the code of tailer changed since this coroutine started/)
    } finally {
      await other.app.close()
    }
    for (const coroutineState of ['bm90IGpzb24=', Buffer.from('{"v":1}').toString('base64')]) {
      const garbage: RunResponse = await driver().post({ function: 'tailer', pollResult: { coroutineState } })
      expect(garbage.status).toBe('STATUS_INCOMPATIBLE_STATE')
      expect(garbage.exit?.result?.error?.message).toMatch(/tailer cannot be resumed: .*not a journal/)
    }
    const wrong = await driver().post({
      function: 'double',
      pollResult: { coroutineState: first.poll!.coroutineState! },
    })
    expect(wrong.exit?.result?.error?.message).toMatch(/belongs to tailer, not to double/)
  })

  it('a PollResult error fails the calls of the last Poll', async () => {
    const d = driver()
    const first = await d.post({ function: 'catcher', input: { '@type': VALUE_TYPE_URL, value: [false] } })
    const resumed = await d.post({
      function: 'catcher',
      pollResult: {
        coroutineState: first.poll!.coroutineState!,
        error: { type: 'InvalidArgument', message: 'the endpoint is not http(s)' },
      },
    })
    expect(resumed.exit?.result?.output?.value).toEqual({
      callFailed: true,
      type: 'InvalidArgument',
      message: 'the endpoint is not http(s)',
    })
  })

  it('a journal over its limit fails the call for good with DSP2231', async () => {
    const small = await startEndpoint({ routes: coroutineRoutes, maxJournalBytes: 64 * 1024 })
    try {
      expect(await new CoroutineDriver(small.url).run('hoarder', [1000])).toEqual({ status: 'STATUS_OK', output: 1002 })
      const outcome = await new CoroutineDriver(small.url).run('hoarder', [100_000])
      expect(outcome.status).toBe('STATUS_PERMANENT_ERROR')
      expect(outcome.error!.message).toMatch(/journal of coroutine hoarder grew to \d+ bytes, over the limit of 65536/)
    } finally {
      await small.app.close()
    }
  })
})

describe('durable sleep', () => {
  it('suspends with maxWait and resumes no earlier than asked', async () => {
    const d = driver()
    const outcome = await d.run('sleeper', [1200])
    expect(outcome.status).toBe('STATUS_OK')
    expect(outcome.output as number).toBeGreaterThanOrEqual(1200)
    expect(d.polls[0]!.poll.calls).toEqual([])
    expect(Number(d.polls[0]!.poll.maxWait!.slice(0, -1))).toBeGreaterThanOrEqual(1)
  })

  it('honours a sub-second sleep to the millisecond: maxWait is what is left, rounded up', async () => {
    const d = driver()
    const outcome = await d.run('sleeper', [150])
    expect(outcome.status).toBe('STATUS_OK')
    expect(outcome.output as number).toBeGreaterThanOrEqual(150)
    const waited = Number(d.polls[0]!.poll.maxWait!.slice(0, -1))
    expect(waited).toBeGreaterThan(0)
    expect(waited).toBeLessThanOrEqual(0.15)
  })

  it('a timer raced against a call: the call wins, the Poll carries the timer as maxWait', async () => {
    const d = driver()
    expect(await d.run('raceTimer', [])).toEqual({ status: 'STATUS_OK', output: 42 })
    expect(d.polls[0]!.poll.maxWait).toMatch(/^3[0-9]{3}(\.[0-9]+)?s$/)
  })
})
