import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ATTEMPT_ERROR_EXCERPT,
  ATTEMPT_HISTORY_LIMIT,
  type Completion,
  type Store,
  type StoredCall,
} from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { newCall, T0 } from './newCall.js'

const OWNER = 'node-a'
const LEASE = 30_000

/**
 * The attempt history at the store level, run on every store that keeps one (`listAttempts`): each
 * applied outcome adds an entry in the same transaction, stale ones add nothing, a call keeps the
 * last {@link ATTEMPT_HISTORY_LIMIT}, and error messages are cut to an excerpt.
 */
export function attemptsConformance(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`Store conformance, attempt history: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    const history = (id: string) => store.listAttempts!(id)
    const insert = async (n: number, maxAttempts = 50) => {
      const calls = Array.from({ length: n }, () => newCall({ maxAttempts }))
      await store.insertCalls(calls, { now: T0, idempotencyWindowMs: 60_000 })
      return calls.map((c) => c.dispatchId)
    }
    const claim = async (now: number): Promise<StoredCall[]> =>
      store.claimCalls({ now, limit: 100, owner: OWNER, leaseMs: LEASE })
    const base = (c: StoredCall, startedAt: number, now: number) => ({
      dispatchId: c.dispatchId,
      attempt: c.attempts,
      owner: OWNER,
      startedAt,
      now,
    })
    const retry = (c: StoredCall, startedAt: number, now: number, message = 'try later'): Completion => ({
      ...base(c, startedAt, now),
      kind: 'retry',
      status: 'STATUS_TEMPORARY_ERROR',
      dueAt: now + 1,
      error: { type: 'TemporaryError', message },
    })
    const succeed = (c: StoredCall, startedAt: number, now: number): Completion => ({
      ...base(c, startedAt, now),
      kind: 'succeeded',
      status: 'STATUS_OK',
      output: { '@type': VALUE_TYPE_URL, value: 'ok' },
      error: undefined,
    })

    it('records each applied outcome (start, end, status, outcome, error), oldest first; stale ones add nothing', async () => {
      const [id] = await insert(1)
      const [first] = await claim(T0)
      const long = 'x'.repeat(ATTEMPT_ERROR_EXCERPT * 3)
      const failed: Completion = {
        ...base(first!, T0, T0 + 40),
        kind: 'retry',
        status: 'STATUS_TEMPORARY_ERROR',
        dueAt: T0 + 41,
        error: { type: 'TemporaryError', message: long, traceback: 'dGJr' },
      }
      expect(await store.completeAttempts([failed])).toEqual([true])
      // The same outcome again is stale (the claim no longer holds): nothing more in the history.
      expect(await store.completeAttempts([failed])).toEqual([false])
      const [second] = await claim(T0 + 100)
      expect(await store.completeAttempts([succeed(second!, T0 + 100, T0 + 107)])).toEqual([true])

      const entries = await history(id!)
      expect(entries).toHaveLength(2)
      expect(entries[0]).toMatchObject({
        attempt: 1,
        startedAt: T0,
        finishedAt: T0 + 40,
        status: 'STATUS_TEMPORARY_ERROR',
        outcome: 'retry',
        error: { type: 'TemporaryError' },
      })
      expect(entries[0]!.error!.message.length).toBeLessThanOrEqual(ATTEMPT_ERROR_EXCERPT)
      expect(entries[0]!.error!.message).toMatch(/^x+…$/)
      expect(entries[0]!.error).not.toHaveProperty('traceback')
      expect(entries[1]).toEqual({
        attempt: 2,
        startedAt: T0 + 100,
        finishedAt: T0 + 107,
        status: 'STATUS_OK',
        outcome: 'succeeded',
        error: undefined,
      })
      expect(await history('no-such-call')).toEqual([])
    })

    it('records every call of a batch, and a second outcome of one call in the batch only once', async () => {
      const ids = await insert(3)
      const claimed = await claim(T0)
      const byId = new Map(claimed.map((c) => [c.dispatchId, c]))
      const [a, b, c] = ids.map((id) => byId.get(id)!)
      expect(await store.completeAttempts([succeed(a!, T0, T0 + 1), retry(b!, T0, T0 + 2)])).toEqual([true, true])
      expect(await store.completeAttempts([retry(c!, T0, T0 + 3), succeed(c!, T0, T0 + 4)])).toEqual([true, false])
      expect((await history(a!.dispatchId)).map((e) => e.outcome)).toEqual(['succeeded'])
      expect((await history(b!.dispatchId)).map((e) => e.outcome)).toEqual(['retry'])
      expect(await history(c!.dispatchId)).toMatchObject([{ outcome: 'retry', finishedAt: T0 + 3 }])
    })

    it('records a Poll and a restart of a coroutine turn, and a tail call', async () => {
      const [id, other] = await insert(2)
      const claimed = await claim(T0)
      const running = claimed.find((c) => c.dispatchId === id)!
      const poll: Completion = {
        ...base(running, T0, T0 + 5),
        kind: 'poll',
        status: 'STATUS_OK',
        poll: { state: { coroutineState: 'AA==' }, minResults: 1, maxResults: 10, deadline: T0 + 10, error: undefined },
        children: [],
        consumed: [],
      }
      expect(await store.completeAttempts([poll])).toEqual([true])
      const [resumed] = await claim(T0 + 10)
      const restart: Completion = {
        ...base(resumed!, T0 + 10, T0 + 12),
        kind: 'restart',
        status: 'STATUS_INCOMPATIBLE_STATE',
        error: { type: 'IncompatibleState', message: 'the code changed' },
      }
      expect(await store.completeAttempts([restart])).toEqual([true])
      expect(await history(id!)).toMatchObject([
        { attempt: 1, outcome: 'poll', status: 'STATUS_OK', startedAt: T0, finishedAt: T0 + 5 },
        { attempt: 1, outcome: 'restart', error: { type: 'IncompatibleState', message: 'the code changed' } },
      ])

      const tail = claimed.find((c) => c.dispatchId === other)!
      const tailCall: Completion = {
        ...base(tail, T0, T0 + 1),
        kind: 'tailCall',
        status: 'STATUS_OK',
        function: 'next',
        endpoint: tail.endpoint,
        input: undefined,
        version: undefined,
        expiresAt: undefined,
        expirationMs: undefined,
      }
      expect(await store.completeAttempts([tailCall])).toEqual([true])
      expect(await history(other!)).toMatchObject([{ outcome: 'tailCall', attempt: 1 }])
    })

    it(`keeps the last ${ATTEMPT_HISTORY_LIMIT} attempts of a call`, async () => {
      const total = ATTEMPT_HISTORY_LIMIT + 5
      const [id] = await insert(1, total + 1)
      for (let i = 0; i < total; i++) {
        const now = T0 + i * 10
        const [running] = await claim(now)
        expect(await store.completeAttempts([retry(running!, now, now + 1, `attempt ${i + 1}`)])).toEqual([true])
      }
      const entries = await history(id!)
      expect(entries.map((e) => e.attempt)).toEqual(
        Array.from({ length: ATTEMPT_HISTORY_LIMIT }, (_, i) => total - ATTEMPT_HISTORY_LIMIT + 1 + i),
      )
      expect(entries.at(-1)!.error?.message).toBe(`attempt ${total}`)
    })
  })
}
