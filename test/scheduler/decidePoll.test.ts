import { describe, expect, it } from 'vitest'
import { DEFAULT_RETRY_POLICY } from '../../scheduler/calls/retryPolicy.js'
import { buildRunRequest } from '../../scheduler/delivery/buildRunRequest.js'
import { decideCompletion, MAX_COROUTINE_STATE_BYTES } from '../../scheduler/delivery/decideCompletion.js'
import { fitResults } from '../../scheduler/delivery/fitResults.js'
import type { StoredCall } from '../../scheduler/index.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { MAX_POLL_CALLS } from '../../schemas/run.js'

/** How one attempt's Poll (or INCOMPATIBLE_STATE) becomes the change the store applies. */

const parent = {
  dispatchId: 'p',
  function: 'parent',
  attempts: 1,
  maxAttempts: 3,
  endpoint: 'http://127.0.0.1:1/app',
  expiresAt: 50_000,
  createdAt: 0,
  fairnessKey: 'tenant',
  rootDispatchId: undefined,
  poll: undefined,
  results: [],
} as unknown as StoredCall
const options = resolveSchedulerOptions({ retry: { maxAttempts: 4 }, functions: { picky: { maxAttempts: 2 } } })
const context = { owner: 'o', now: 1000, policy: DEFAULT_RETRY_POLICY, options }
const answer = (body: unknown) => ({ kind: 'answer' as const, body: JSON.stringify(body) })
const pollOf = (poll: unknown) => decideCompletion(parent, answer({ status: 'STATUS_OK', poll }), context)

describe('a Poll', () => {
  it('clamps minResults to maxResults, both into 1..1000, and tolerates a missing maxWait', () => {
    expect(pollOf({ minResults: 5, maxResults: 2 })).toMatchObject({
      kind: 'poll',
      poll: { minResults: 2, maxResults: 2, deadline: undefined, error: undefined },
      children: [],
      consumed: [],
    })
    expect(pollOf({})).toMatchObject({ poll: { minResults: 1, maxResults: 1000 } })
    expect(pollOf({ maxWait: '2.5s' })).toMatchObject({ poll: { deadline: 3500 } })
  })

  it('keeps whichever state came, verbatim', () => {
    const typed = { '@type': 'type.googleapis.com/x.Y', deep: { a: [1, 2] } }
    expect(pollOf({ coroutineState: 'AAEC' })).toMatchObject({ poll: { state: { coroutineState: 'AAEC' } } })
    expect(pollOf({ typedCoroutineState: typed })).toMatchObject({ poll: { state: { typedCoroutineState: typed } } })
  })

  it('refuses a state over the size bound as INVALID_RESPONSE, with the sizes in the message', () => {
    const big = 'A'.repeat(MAX_COROUTINE_STATE_BYTES + 4)
    const decided = pollOf({ coroutineState: big })
    expect(decided).toMatchObject({ kind: 'failed', status: 'STATUS_INVALID_RESPONSE' })
    expect(decided.kind === 'failed' && decided.error?.message).toMatch(/coroutine state is 16777220 bytes/)
  })

  it('makes children of its calls: parent endpoint, lineage, fairness key, policy, bounded expiration', () => {
    const decided = pollOf({
      calls: [
        { correlationId: 7, function: 'child', input: { '@type': 'x', value: 1 } },
        { correlationId: '8', function: 'picky', endpoint: 'https://elsewhere.test', expiration: '10s' },
        { function: 'late', expiration: '100s' },
      ],
    })
    if (decided.kind !== 'poll') throw new Error(`expected a poll, got ${decided.kind}`)
    const [a, b, c] = decided.children
    expect(a).toMatchObject({
      function: 'child',
      endpoint: 'http://127.0.0.1:1/app',
      correlationId: '7',
      parentDispatchId: 'p',
      rootDispatchId: 'p',
      fairnessKey: 'tenant',
      maxAttempts: 4,
      expiresAt: 50_000,
      dueAt: 1000,
    })
    expect(b).toMatchObject({
      endpoint: 'https://elsewhere.test',
      maxAttempts: 2,
      expiresAt: 11_000,
      correlationId: '8',
    })
    expect(c).toMatchObject({ expiresAt: 50_000 }) // the parent's expiration comes first
    expect(new Set(decided.children.map((k) => k.dispatchId)).size).toBe(3)
  })

  it('answers calls that cannot be dispatched with pollResult.error, starting none', () => {
    for (const calls of [
      [{ function: 'ok' }, { function: 'bad name' }],
      [{ function: 'ok', endpoint: 'ftp://x' }],
      Array.from({ length: MAX_POLL_CALLS + 1 }, () => ({ function: 'many' })),
      'not an array',
    ]) {
      const decided = pollOf({ calls })
      expect(decided).toMatchObject({ kind: 'poll', children: [], poll: { error: { type: 'InvalidPollCalls' } } })
    }
  })

  it('consumes the results the attempt was given', () => {
    const resumed = {
      ...parent,
      results: [
        { seq: 4, result: {} },
        { seq: 9, result: {} },
      ],
    } as StoredCall
    expect(decideCompletion(resumed, answer({ status: 'STATUS_OK', poll: {} }), context)).toMatchObject({
      consumed: [4, 9],
    })
  })
})

describe('INCOMPATIBLE_STATE', () => {
  const incompatible = answer({
    status: 'STATUS_INCOMPATIBLE_STATE',
    exit: { result: { error: { type: 'IncompatibleState', message: 'diverged' } } },
  })
  const resumed = {
    ...parent,
    poll: { state: {}, minResults: 1, maxResults: 1, deadline: undefined, error: undefined },
  } as StoredCall

  it('restarts a resumed turn while attempts remain, then fails', () => {
    expect(decideCompletion(resumed, incompatible, context)).toMatchObject({ kind: 'restart' })
    expect(decideCompletion({ ...resumed, attempts: 3 }, incompatible, context)).toMatchObject({
      kind: 'failed',
      status: 'STATUS_INCOMPATIBLE_STATE',
    })
  })

  it('fails a first run at once', () => {
    const decided = decideCompletion(parent, incompatible, context)
    expect(decided).toMatchObject({ kind: 'failed', status: 'STATUS_INCOMPATIBLE_STATE' })
    expect(decided.kind === 'failed' && decided.error?.message).toMatch(/not restarted: answered to a first run/)
  })
})

describe('the RunRequest of a resumed turn', () => {
  it('carries pollResult (state verbatim, results in order, error) instead of input', () => {
    const call = {
      ...parent,
      input: { '@type': 'x', value: 'ignored' },
      poll: {
        state: { coroutineState: 'c3Q=' },
        minResults: 1,
        maxResults: 10,
        deadline: undefined,
        error: { type: 'InvalidPollCalls', message: 'm' },
      },
      results: [
        { seq: 1, result: { correlationId: '1', dispatchId: 'a', output: { '@type': 'x', value: 1 } } },
        { seq: 2, result: { correlationId: '2', dispatchId: 'b', error: { type: 'E', message: 'e' } } },
      ],
    } as StoredCall
    const request = buildRunRequest(call)
    expect(request.input).toBeUndefined()
    expect(request.pollResult).toEqual({
      coroutineState: 'c3Q=',
      results: call.results.map((r) => r.result),
      error: { type: 'InvalidPollCalls', message: 'm' },
    })
    expect(request.dispatchId).toBe('p')
  })
})

describe('a resumed turn', () => {
  const resumed = (results: number, size: number) =>
    ({
      ...parent,
      poll: { state: { coroutineState: 'A'.repeat(size) }, minResults: 1, maxResults: 1000, deadline: undefined },
      results: Array.from({ length: results }, (_, i) => ({
        seq: i + 1,
        result: { correlationId: String(i), output: { '@type': 'x', value: 'v'.repeat(size) } },
      })),
    }) as unknown as StoredCall

  it('carries as many results as fit beside its state in one request, at least one, oldest first', () => {
    expect(fitResults(resumed(5, 10)).results).toHaveLength(5)
    const trimmed = fitResults(resumed(5, 1000), 3500)
    expect(trimmed.results.map((r) => r.seq)).toEqual([1, 2])
    expect(buildRunRequest(trimmed).pollResult?.results).toHaveLength(2)
    // The outcome consumes only what was sent.
    const decided = decideCompletion(trimmed, answer({ status: 'STATUS_OK', poll: {} }), context)
    expect(decided).toMatchObject({ kind: 'poll', consumed: [1, 2] })
    expect(fitResults(resumed(3, 5000), 100).results).toHaveLength(1)
  })
})

describe('an Exit without a result', () => {
  it('with a tail call follows it whatever the status (the Python SDK Reset)', () => {
    const reset = answer({ status: 'STATUS_TEMPORARY_ERROR', exit: { tailCall: { function: 'again' } } })
    expect(decideCompletion(parent, reset, context)).toMatchObject({
      kind: 'tailCall',
      function: 'again',
      endpoint: parent.endpoint,
    })
  })

  it('alone is a success without output, or a failure of its status', () => {
    expect(decideCompletion(parent, answer({ status: 'STATUS_OK', exit: {} }), context)).toMatchObject({
      kind: 'succeeded',
      output: undefined,
    })
    expect(decideCompletion(parent, answer({ status: 'STATUS_PERMANENT_ERROR', exit: {} }), context)).toMatchObject({
      kind: 'failed',
      status: 'STATUS_PERMANENT_ERROR',
    })
  })
})
