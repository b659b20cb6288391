import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewCall, Store } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { coroutineConformance } from './coroutineConformance.js'
import { newCall, T0 } from './newCall.js'

const WINDOW = 60_000
const LEASE = 30_000

export { newCall }

export interface ConformanceOptions {
  /** Closes a store and opens it again on the same data, to check that what was acknowledged persists. */
  reopen?: (store: Store) => Promise<Store>
}

/**
 * The behaviour every {@link Store} implementation must have. Run it with a factory that returns a
 * fresh, empty store each time (a new SQLite file, a new PostgreSQL schema).
 *
 * @example
 * ```ts
 * storeConformance('SQLite', async () => openSqliteStore(join(await mkdtemp(...), 'db')))
 * ```
 */
export function storeConformance(
  name: string,
  makeStore: () => Promise<Store> | Store,
  options: ConformanceOptions = {},
): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    const insert = (calls: NewCall[], now = T0) => store.insertCalls(calls, { now, idempotencyWindowMs: WINDOW })
    const claim = (now = T0, limit = 100, owner = 'node-a') => store.claimCalls({ now, limit, owner, leaseMs: LEASE })

    it('keeps the trace context a call was dispatched with, and hands it to every claim', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
      const traced = newCall({ traceparent })
      const plain = newCall()
      await insert([traced, plain])
      expect((await store.getCall(traced.dispatchId))?.traceparent).toBe(traceparent)
      expect((await store.getCall(plain.dispatchId))?.traceparent).toBeUndefined()
      const claimed = await claim()
      expect(claimed.find((c) => c.dispatchId === traced.dispatchId)?.traceparent).toBe(traceparent)
      expect(claimed.find((c) => c.dispatchId === plain.dispatchId)?.traceparent).toBeUndefined()
    })

    it('reports the backlog of each queue: its due calls and the earliest due time, oldest first', async () => {
      if (store.queueBacklog === undefined) return
      await insert([
        newCall({ dueAt: T0 - 5000 }),
        newCall({ dueAt: T0 - 1000 }),
        newCall({ dueAt: T0 + 60_000 }), // not due yet
        newCall({ function: 'other', fairnessKey: 'tenant-1', dueAt: T0 - 2000 }),
        newCall({ function: 'other', fairnessKey: 'tenant-2', dueAt: T0 - 9000 }),
      ])
      expect(await store.queueBacklog(T0, 10)).toEqual([
        { endpoint: 'http://127.0.0.1:9/', function: 'other', fairnessKey: 'tenant-2', due: 1, oldestDueAt: T0 - 9000 },
        {
          endpoint: 'http://127.0.0.1:9/',
          function: 'publish',
          fairnessKey: undefined,
          due: 2,
          oldestDueAt: T0 - 5000,
        },
        { endpoint: 'http://127.0.0.1:9/', function: 'other', fairnessKey: 'tenant-1', due: 1, oldestDueAt: T0 - 2000 },
      ])
      expect(await store.queueBacklog(T0, 1)).toHaveLength(1)
      // Claimed calls hold a lease in the future: no longer due.
      await claim(T0, 100)
      expect(await store.queueBacklog(T0, 10)).toEqual([])
    })

    it('inserts a batch and returns the ids in order; calls start pending with no attempts', async () => {
      const calls = [newCall(), newCall({ function: 'other', fairnessKey: 'tenant-1', correlationId: '42' })]
      const results = await insert(calls)
      expect(results).toEqual(calls.map((c) => ({ dispatchId: c.dispatchId, inserted: true })))
      const stored = await store.getCall(calls[1]!.dispatchId)
      expect(stored).toMatchObject({
        dispatchId: calls[1]!.dispatchId,
        function: 'other',
        endpoint: 'http://127.0.0.1:9/',
        input: { '@type': VALUE_TYPE_URL, value: ['hello'] },
        state: 'pending',
        attempts: 0,
        maxAttempts: 3,
        createdAt: T0,
        updatedAt: T0,
        dueAt: T0,
        fairnessKey: 'tenant-1',
        correlationId: '42',
        status: undefined,
        originFunction: 'other',
      })
      expect(await store.getCall('no-such-id')).toBeUndefined()
      const many = await store.getCalls([calls[0]!.dispatchId, 'no-such-id', calls[1]!.dispatchId])
      expect(many.map((c) => c.dispatchId).sort()).toEqual(calls.map((c) => c.dispatchId).sort())
    })

    it('stores nothing of a batch that fails', async () => {
      const first = newCall()
      await expect(insert([newCall({ dispatchId: 'x-1' }), first, newCall({ dispatchId: 'x-1' })])).rejects.toThrow()
      expect(await store.getCall('x-1')).toBeUndefined()
      expect(await store.getCall(first.dispatchId)).toBeUndefined()
      expect(await store.countCalls()).toEqual([])
    })

    it('returns the first id for an idempotency key seen within the window, and stores nothing new', async () => {
      const a = newCall({ idempotencyKey: 'k1' })
      await insert([a])
      const b = newCall({ idempotencyKey: 'k1' })
      const c = newCall({ idempotencyKey: 'k2' })
      const d = newCall({ idempotencyKey: 'k2' })
      const results = await insert([b, c, d], T0 + 1000)
      expect(results).toEqual([
        { dispatchId: a.dispatchId, inserted: false },
        { dispatchId: c.dispatchId, inserted: true },
        { dispatchId: c.dispatchId, inserted: false },
      ])
      expect(await store.getCall(b.dispatchId)).toBeUndefined()
      expect(await store.getCall(d.dispatchId)).toBeUndefined()
      // After the window the key is free again.
      const e = newCall({ idempotencyKey: 'k1' })
      expect(await insert([e], T0 + WINDOW + 1)).toEqual([{ dispatchId: e.dispatchId, inserted: true }])
    })

    it('purges idempotency keys recorded before a time', async () => {
      await insert([newCall({ idempotencyKey: 'old' })], T0)
      await insert([newCall({ idempotencyKey: 'new' })], T0 + 10)
      expect(await store.purgeIdempotencyKeys(T0 + 5)).toBe(1)
      const again = newCall({ idempotencyKey: 'old' })
      expect(await insert([again], T0 + 20)).toEqual([{ dispatchId: again.dispatchId, inserted: true }])
    })

    it('claims due calls oldest first, up to the limit, and leases them', async () => {
      const late = newCall({ dueAt: T0 + 5000 })
      const second = newCall({ dueAt: T0 - 10 })
      const first = newCall({ dueAt: T0 - 20 })
      const third = newCall({ dueAt: T0 })
      await insert([late, second, first, third])
      const claimed = await claim(T0, 2)
      expect(claimed.map((c) => c.dispatchId).sort()).toEqual([first.dispatchId, second.dispatchId].sort())
      for (const call of claimed) {
        expect(call).toMatchObject({ state: 'running', attempts: 1, leaseOwner: 'node-a', dueAt: T0 + LEASE })
      }
      expect((await claim(T0, 10)).map((c) => c.dispatchId)).toEqual([third.dispatchId])
      expect(await claim(T0, 10)).toEqual([])
      expect((await claim(T0 + 5000, 10)).map((c) => c.dispatchId)).toEqual([late.dispatchId])
    })

    it('claims a running call again once its lease has expired (at least once)', async () => {
      const call = newCall()
      await insert([call])
      expect(await claim(T0)).toHaveLength(1)
      expect(await claim(T0 + LEASE - 1, 10, 'node-b')).toEqual([])
      const again = await claim(T0 + LEASE, 10, 'node-b')
      expect(again).toHaveLength(1)
      expect(again[0]).toMatchObject({ attempts: 2, leaseOwner: 'node-b' })
      // The first owner's outcome is now stale.
      const stale = await store.completeAttempts([
        {
          kind: 'succeeded',
          dispatchId: call.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0 + LEASE + 1,
          status: 'STATUS_OK',
          output: undefined,
          error: undefined,
        },
      ])
      expect(stale).toEqual([false])
      expect((await store.getCall(call.dispatchId))?.state).toBe('running')
    })

    it('claims from one queue when asked', async () => {
      const a = newCall({ function: 'a', fairnessKey: 't1' })
      const b = newCall({ function: 'a', fairnessKey: 't2' })
      const c = newCall({ function: 'b' })
      const d = newCall({ function: 'b', endpoint: 'http://127.0.0.1:10/' })
      await insert([a, b, c, d])
      const q = (fn: string, fairnessKey: string | undefined, endpoint = 'http://127.0.0.1:9/') =>
        store.claimCalls({
          now: T0,
          limit: 10,
          owner: 'n',
          leaseMs: LEASE,
          queue: { endpoint, function: fn, fairnessKey },
        })
      expect((await q('a', 't2')).map((x) => x.dispatchId)).toEqual([b.dispatchId])
      expect((await q('b', undefined)).map((x) => x.dispatchId)).toEqual([c.dispatchId])
      expect((await q('b', undefined, 'http://127.0.0.1:10/')).map((x) => x.dispatchId)).toEqual([d.dispatchId])
      expect(await q('a', 't2')).toEqual([])
    })

    it('records completions in one batch: success, failure, retry; stale ones change nothing', async () => {
      const ok = newCall()
      const bad = newCall()
      const again = newCall()
      await insert([ok, bad, again])
      await claim(T0)
      const base = { attempt: 1, owner: 'node-a', now: T0 + 100 }
      const applied = await store.completeAttempts([
        {
          ...base,
          kind: 'succeeded',
          dispatchId: ok.dispatchId,
          status: 'STATUS_OK',
          output: { '@type': VALUE_TYPE_URL, value: { n: 1 } },
          error: undefined,
        },
        {
          ...base,
          kind: 'failed',
          dispatchId: bad.dispatchId,
          status: 'STATUS_PERMANENT_ERROR',
          output: undefined,
          error: { type: 'Error', message: 'boom' },
        },
        {
          ...base,
          kind: 'retry',
          dispatchId: again.dispatchId,
          status: 'STATUS_TEMPORARY_ERROR',
          dueAt: T0 + 2000,
          error: { type: 'Error', message: 'later' },
        },
        { ...base, kind: 'retry', dispatchId: ok.dispatchId, status: 'STATUS_TIMEOUT', dueAt: T0, error: undefined },
        {
          ...base,
          attempt: 7,
          kind: 'failed',
          dispatchId: again.dispatchId,
          status: 'STATUS_PERMANENT_ERROR',
          output: undefined,
          error: undefined,
        },
      ])
      expect(applied).toEqual([true, true, true, false, false])
      expect(await store.getCall(ok.dispatchId)).toMatchObject({
        state: 'succeeded',
        status: 'STATUS_OK',
        output: { '@type': VALUE_TYPE_URL, value: { n: 1 } },
        dueAt: undefined,
        leaseOwner: undefined,
        updatedAt: T0 + 100,
        attempts: 1,
      })
      expect(await store.getCall(bad.dispatchId)).toMatchObject({
        state: 'failed',
        status: 'STATUS_PERMANENT_ERROR',
        error: { type: 'Error', message: 'boom' },
        dueAt: undefined,
      })
      expect(await store.getCall(again.dispatchId)).toMatchObject({
        state: 'pending',
        status: 'STATUS_TEMPORARY_ERROR',
        error: { type: 'Error', message: 'later' },
        dueAt: T0 + 2000,
        attempts: 1,
      })
      expect(await claim(T0 + 1999)).toEqual([])
      expect((await claim(T0 + 2000))[0]).toMatchObject({ dispatchId: again.dispatchId, attempts: 2 })
    })

    it('replaces a call with its tail call, keeping its id, creation time and origin', async () => {
      const call = newCall({ maxAttempts: 5, expiresAt: T0 + 60_000, expirationMs: 60_000 })
      await insert([call])
      await claim(T0)
      const tailInput = { '@type': VALUE_TYPE_URL, value: ['next'] }
      const [applied] = await store.completeAttempts([
        {
          kind: 'tailCall',
          dispatchId: call.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0 + 10,
          status: 'STATUS_OK',
          function: 'second',
          endpoint: 'http://127.0.0.1:11/',
          input: tailInput,
          version: 'v2',
          expiresAt: undefined,
          expirationMs: undefined,
        },
      ])
      expect(applied).toBe(true)
      const replaced = await store.getCall(call.dispatchId)
      expect(replaced).toMatchObject({
        state: 'pending',
        function: 'second',
        endpoint: 'http://127.0.0.1:11/',
        input: tailInput,
        version: 'v2',
        attempts: 0,
        createdAt: T0,
        dueAt: T0 + 10,
        expiresAt: T0 + 60_000,
        originFunction: 'publish',
        originEndpoint: 'http://127.0.0.1:9/',
        originInput: call.input,
      })
      // A second tail call keeps the first origin.
      await claim(T0 + 10)
      await store.completeAttempts([
        {
          kind: 'tailCall',
          dispatchId: call.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0 + 20,
          status: 'STATUS_OK',
          function: 'third',
          endpoint: 'http://127.0.0.1:12/',
          input: undefined,
          version: undefined,
          expiresAt: T0 + 1000,
          expirationMs: 980,
        },
      ])
      expect(await store.getCall(call.dispatchId)).toMatchObject({
        function: 'third',
        input: undefined,
        expiresAt: T0 + 1000,
        originFunction: 'publish',
        originInput: call.input,
      })
    })

    it('cancels pending and running calls; a running attempt then completes stale', async () => {
      const pending = newCall({ dueAt: T0 + 1000 })
      const running = newCall()
      await insert([pending, running])
      await claim(T0)
      const a = await store.cancelCall(pending.dispatchId, T0 + 1)
      expect(a).toMatchObject({ kind: 'changed', call: { state: 'cancelled', dueAt: undefined, updatedAt: T0 + 1 } })
      const b = await store.cancelCall(running.dispatchId, T0 + 1)
      expect(b).toMatchObject({ kind: 'changed', call: { state: 'cancelled' } })
      const [applied] = await store.completeAttempts([
        {
          kind: 'succeeded',
          dispatchId: running.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0 + 2,
          status: 'STATUS_OK',
          output: undefined,
          error: undefined,
        },
      ])
      expect(applied).toBe(false)
      expect(await claim(T0 + 100_000)).toEqual([])
      expect(await store.cancelCall(running.dispatchId, T0 + 3)).toMatchObject({
        kind: 'refused',
        call: { state: 'cancelled' },
      })
      expect(await store.cancelCall('no-such-id', T0)).toEqual({ kind: 'notFound' })
    })

    it('redrives failed and cancelled calls from their origin with a fresh budget; refuses others', async () => {
      const call = newCall({ expirationMs: 5000, expiresAt: T0 + 5000 })
      const done = newCall()
      await insert([call, done])
      await claim(T0)
      await store.completeAttempts([
        {
          kind: 'tailCall',
          dispatchId: call.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0,
          status: 'STATUS_OK',
          function: 'second',
          endpoint: 'http://127.0.0.1:11/',
          input: undefined,
          version: undefined,
          expiresAt: undefined,
          expirationMs: undefined,
        },
        {
          kind: 'succeeded',
          dispatchId: done.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0,
          status: 'STATUS_OK',
          output: undefined,
          error: undefined,
        },
      ])
      await claim(T0)
      await store.completeAttempts([
        {
          kind: 'failed',
          dispatchId: call.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0 + 1,
          status: 'STATUS_PERMANENT_ERROR',
          output: undefined,
          error: { type: 'E', message: 'm' },
        },
      ])
      const redriven = await store.redriveCall(call.dispatchId, T0 + 100)
      expect(redriven).toMatchObject({
        kind: 'changed',
        call: {
          state: 'pending',
          function: 'publish',
          endpoint: 'http://127.0.0.1:9/',
          input: call.input,
          attempts: 0,
          status: undefined,
          error: undefined,
          dueAt: T0 + 100,
          expiresAt: T0 + 5100,
          createdAt: T0,
        },
      })
      expect(await store.redriveCall(call.dispatchId, T0 + 100)).toMatchObject({ kind: 'refused' })
      expect(await store.redriveCall(done.dispatchId, T0 + 100)).toMatchObject({
        kind: 'refused',
        call: { state: 'succeeded' },
      })
      expect(await store.redriveCall('no-such-id', T0)).toEqual({ kind: 'notFound' })
      await store.cancelCall(call.dispatchId, T0 + 200)
      expect(await store.redriveCall(call.dispatchId, T0 + 300)).toMatchObject({
        kind: 'changed',
        call: { state: 'pending' },
      })
    })

    it('releases leases, all or one owner’s, making those calls due now', async () => {
      const calls = [newCall(), newCall(), newCall()]
      await insert(calls)
      await claim(T0, 1, 'a')
      await claim(T0, 1, 'b')
      await claim(T0, 1, 'c')
      expect(await store.releaseLeases(T0 + 5, 'b')).toBe(1)
      const b = await claim(T0 + 5, 10, 'd')
      expect(b).toHaveLength(1)
      expect(b[0]).toMatchObject({ attempts: 2 })
      expect(await store.releaseLeases(T0 + 6)).toBe(3)
      expect(await claim(T0 + 6, 10)).toHaveLength(3)
    })

    it('tells the earliest due time', async () => {
      expect(await store.nextDueAt()).toBeUndefined()
      await insert([newCall({ dueAt: T0 + 300 }), newCall({ dueAt: T0 + 200 })])
      expect(await store.nextDueAt()).toBe(T0 + 200)
      await claim(T0 + 200)
      expect(await store.nextDueAt()).toBe(T0 + 300)
    })

    it('lists newest first with filters and a cursor', async () => {
      const calls: NewCall[] = []
      for (let i = 0; i < 7; i++) {
        calls.push(newCall({ function: i % 2 === 0 ? 'even' : 'odd', fairnessKey: i < 3 ? 't1' : 't2' }))
      }
      await insert(calls)
      const ids = calls.map((c) => c.dispatchId).reverse()
      const seen: string[] = []
      let after: string | undefined
      for (;;) {
        const page = await store.listCalls({ limit: 3, ...(after ? { after } : {}) })
        seen.push(...page.calls.map((c) => c.dispatchId))
        if (page.nextAfter === undefined) break
        after = page.nextAfter
      }
      expect(seen).toEqual(ids)
      const even = await store.listCalls({ limit: 100, function: 'even' })
      expect(even.calls.map((c) => c.dispatchId)).toEqual(ids.filter((_, i) => (6 - i) % 2 === 0))
      expect(even.nextAfter).toBeUndefined()
      expect((await store.listCalls({ limit: 100, fairnessKey: 't1' })).calls).toHaveLength(3)
      await claim(T0, 2)
      expect((await store.listCalls({ limit: 100, state: 'running' })).calls).toHaveLength(2)
      expect((await store.listCalls({ limit: 100, state: 'pending', function: 'odd' })).calls.length).toBeLessThan(4)
    })

    it('counts calls per function and state, with the retrying ones', async () => {
      const calls = [newCall(), newCall(), newCall({ function: 'other' })]
      await insert(calls)
      const [first] = await claim(T0, 1)
      await store.completeAttempts([
        {
          kind: 'retry',
          dispatchId: first!.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0,
          status: 'STATUS_TEMPORARY_ERROR',
          dueAt: T0 + 10,
          error: undefined,
        },
      ])
      const counts = await store.countCalls()
      expect(counts).toEqual(
        expect.arrayContaining([
          { function: first!.function, state: 'pending', count: first!.function === 'publish' ? 2 : 1, retrying: 1 },
        ]),
      )
      expect(counts.reduce((n, c) => n + c.count, 0)).toBe(3)
      // One call finishes: a count of the unfinished ones leaves it out, and holds the others.
      const [second] = await claim(T0 + 20, 1)
      await store.completeAttempts([
        {
          kind: 'succeeded',
          dispatchId: second!.dispatchId,
          attempt: second!.attempts,
          owner: 'node-a',
          now: T0 + 20,
          status: 'STATUS_OK',
          output: undefined,
          error: undefined,
        },
      ])
      const after = await store.countCalls()
      expect(after).toContainEqual({ function: second!.function, state: 'succeeded', count: 1, retrying: 0 })
      const unfinished = await store.countCalls({ unfinishedOnly: true })
      expect(unfinished).toEqual(after.filter((c) => c.state !== 'succeeded'))
      expect(unfinished.reduce((n, c) => n + c.count, 0)).toBe(2)
    })

    it('never hands one call to two concurrent claims', async () => {
      await insert(Array.from({ length: 300 }, (_, i) => newCall({ dueAt: T0 - i })))
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.claimCalls({ now: T0, limit: 50, owner: `node-${i}`, leaseMs: LEASE }),
        ),
      )
      const ids = claims.flat().map((c) => c.dispatchId)
      expect(ids).toHaveLength(300)
      expect(new Set(ids).size).toBe(300)
    })

    it('claims a large batch in one call', async () => {
      const calls = Array.from({ length: 1000 }, (_, i) => newCall({ dueAt: T0 + i }))
      await insert(calls)
      const claimed = await claim(T0 + 1000, 600)
      expect(claimed).toHaveLength(600)
      expect(new Set(claimed.map((c) => c.dispatchId)).size).toBe(600)
      expect(await claim(T0 + 1000, 600)).toHaveLength(400)
    })

    if (options.reopen) {
      const reopen = options.reopen
      it('keeps what it acknowledged across a close and reopen', async () => {
        const call = newCall({ idempotencyKey: 'durable' })
        await insert([call])
        await claim(T0)
        store = await reopen(store)
        expect(await store.getCall(call.dispatchId)).toMatchObject({ state: 'running', attempts: 1 })
        const repeat = newCall({ idempotencyKey: 'durable' })
        expect(await insert([repeat], T0 + 1)).toEqual([{ dispatchId: call.dispatchId, inserted: false }])
      })
    }
  })
  coroutineConformance(name, makeStore)
}
