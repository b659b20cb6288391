import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewCall, NewDebounce, Store } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { newCall, T0 } from './newCall.js'

const IDEMPOTENCY_WINDOW = 60_000
const LEASE = 30_000
const WINDOW = 5_000

const input = (value: string) => ({ '@type': VALUE_TYPE_URL, value: [value] })

/**
 * Debounce (docs/flow-control.md) as every {@link Store} must keep it: a debounced call dispatched
 * while a pending, never started call of its function, endpoint and key exists collapses into that
 * call — which takes its due time (bounded by its max wait) and, with keep `last`, its input — and
 * answers with its id; otherwise it is stored. The due times are the scheduler's (`now + window`).
 */
export function debounceConformance(
  name: string,
  makeStore: () => Promise<Store> | Store,
  options: { readonly secondNode?: (store: Store) => Promise<Store> } = {},
): void {
  describe(`Store conformance, debounce: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })
    /** A call dispatched at `at` with a debounce of `key`, due one window later. */
    const debounced = (
      value: string,
      at: number,
      debounce: Partial<NewDebounce> = {},
      overrides: Partial<NewCall> = {},
    ): NewCall =>
      newCall({
        input: input(value),
        createdAt: at,
        dueAt: at + WINDOW,
        debounce: { key: 'k', keep: 'last', windowMs: WINDOW, until: undefined, ...debounce },
        ...overrides,
      })
    const insert = (calls: NewCall[], now = T0, s = store) =>
      s.insertCalls(calls, { now, idempotencyWindowMs: IDEMPOTENCY_WINDOW })
    const claim = (now: number) => store.claimCalls({ now, limit: 10, owner: 'node-a', leaseMs: LEASE })

    it('keep=last: a second call of the key collapses into the first, which takes its input and due time', async () => {
      const first = debounced('a', T0)
      expect(await insert([first])).toEqual([{ dispatchId: first.dispatchId, inserted: true }])
      const second = debounced('b', T0 + 1_000)
      expect(await insert([second], T0 + 1_000)).toEqual([{ dispatchId: first.dispatchId, inserted: false }])
      expect(await store.getCall(second.dispatchId)).toBeUndefined()
      const kept = await store.getCall(first.dispatchId)
      expect(kept).toMatchObject({ state: 'pending', input: input('b'), dueAt: T0 + 1_000 + WINDOW })
      expect(kept?.debounce).toEqual({ key: 'k', keep: 'last', windowMs: WINDOW, until: undefined, dispatches: 2 })
      // Nothing is due before the window after the last call ends; then the one call, with the last input.
      expect(await claim(T0 + WINDOW)).toEqual([])
      const claimed = await claim(T0 + 1_000 + WINDOW)
      expect(claimed.map((c) => [c.dispatchId, c.input])).toEqual([[first.dispatchId, input('b')]])
    })

    it('keep=first: the first input stays, the due time moves', async () => {
      const first = debounced('a', T0, { keep: 'first' })
      await insert([first])
      const [second] = await insert([debounced('b', T0 + 2_000, { keep: 'first' })], T0 + 2_000)
      expect(second).toEqual({ dispatchId: first.dispatchId, inserted: false })
      expect(await store.getCall(first.dispatchId)).toMatchObject({ input: input('a'), dueAt: T0 + 2_000 + WINDOW })
    })

    it('max: the due time moves no later than the first call plus the max wait', async () => {
      const first = debounced('a', T0, { until: T0 + 8_000 })
      await insert([first])
      await insert([debounced('b', T0 + 2_000)], T0 + 2_000)
      expect((await store.getCall(first.dispatchId))?.dueAt).toBe(T0 + 2_000 + WINDOW)
      await insert([debounced('c', T0 + 6_000)], T0 + 6_000)
      const kept = await store.getCall(first.dispatchId)
      expect(kept).toMatchObject({ dueAt: T0 + 8_000, input: input('c') })
      expect(kept?.debounce).toMatchObject({ until: T0 + 8_000, dispatches: 3 })
    })

    it('keeps the later expiration of the two, none winning', async () => {
      const expiring = (value: string, at: number, expirationMs: number | undefined) =>
        debounced(
          value,
          at,
          {},
          { expiresAt: expirationMs === undefined ? undefined : at + expirationMs, expirationMs },
        )
      const first = expiring('a', T0, 10_000)
      await insert([first])
      await insert([expiring('b', T0 + 1_000, 20_000)], T0 + 1_000)
      expect(await store.getCall(first.dispatchId)).toMatchObject({ expiresAt: T0 + 21_000, expirationMs: 20_000 })
      await insert([expiring('c', T0 + 2_000, 1_000)], T0 + 2_000)
      expect(await store.getCall(first.dispatchId)).toMatchObject({ expiresAt: T0 + 21_000, expirationMs: 20_000 })
      await insert([expiring('d', T0 + 3_000, undefined)], T0 + 3_000)
      expect(await store.getCall(first.dispatchId)).toMatchObject({ expiresAt: undefined, expirationMs: undefined })
    })

    it('collapses only calls of the same function, endpoint and key', async () => {
      const calls = [
        debounced('a', T0),
        debounced('b', T0, { key: 'other' }),
        debounced('c', T0, {}, { function: 'other' }),
        debounced('d', T0, {}, { endpoint: 'http://127.0.0.1:8/' }),
        newCall({ input: input('plain') }),
      ]
      const results = await insert(calls)
      expect(results.map((r) => r.inserted)).toEqual([true, true, true, true, true])
      expect(new Set(results.map((r) => r.dispatchId)).size).toBe(5)
    })

    it('a batch with several calls of one key collapses them in order: one call, every id the first', async () => {
      const calls = [debounced('a', T0), debounced('b', T0), newCall(), debounced('c', T0)]
      const results = await insert(calls)
      const id = calls[0]!.dispatchId
      expect(results).toEqual([
        { dispatchId: id, inserted: true },
        { dispatchId: id, inserted: false },
        { dispatchId: calls[2]!.dispatchId, inserted: true },
        { dispatchId: id, inserted: false },
      ])
      const kept = await store.getCall(id)
      expect(kept).toMatchObject({ input: input('c') })
      expect(kept?.debounce?.dispatches).toBe(3)
      expect(await store.getCall(calls[3]!.dispatchId)).toBeUndefined()
    })

    it('a call that has started is never collapsed into: the next dispatch starts a new window', async () => {
      const first = debounced('a', T0)
      await insert([first])
      expect((await claim(T0 + WINDOW)).map((c) => c.dispatchId)).toEqual([first.dispatchId])
      const second = debounced('b', T0 + WINDOW)
      expect(await insert([second], T0 + WINDOW)).toEqual([{ dispatchId: second.dispatchId, inserted: true }])
      // Back to pending for a retry: still not collapsed into (it has run once).
      await store.completeAttempts([
        {
          dispatchId: first.dispatchId,
          attempt: 1,
          owner: 'node-a',
          now: T0 + WINDOW,
          status: 'STATUS_TEMPORARY_ERROR',
          kind: 'retry',
          dueAt: T0 + WINDOW + 100_000,
          error: undefined,
        },
      ])
      const third = debounced('c', T0 + WINDOW + 1)
      expect(await insert([third], T0 + WINDOW + 1)).toEqual([{ dispatchId: second.dispatchId, inserted: false }])
      expect((await store.getCall(first.dispatchId))?.input).toEqual(input('a'))
    })

    it('a cancelled call is never collapsed into, nor once redriven: the next dispatch is a call of its own', async () => {
      const first = debounced('a', T0)
      await insert([first])
      await store.cancelCall(first.dispatchId, T0 + 1_000)
      const second = debounced('b', T0 + 1_000)
      expect(await insert([second], T0 + 1_000)).toEqual([{ dispatchId: second.dispatchId, inserted: true }])
      await store.redriveCall(first.dispatchId, T0 + 2_000)
      const third = debounced('c', T0 + 2_000)
      expect(await insert([third], T0 + 2_000)).toEqual([{ dispatchId: second.dispatchId, inserted: false }])
      const redriven = await store.getCall(first.dispatchId)
      expect(redriven).toMatchObject({ state: 'pending', input: input('a'), dueAt: T0 + 2_000 })
      expect((await store.getCall(second.dispatchId))?.input).toEqual(input('c'))
    })

    it('an idempotency key: a collapsed call answers with the kept call, and a repeat of its key does too without collapsing again', async () => {
      const first = debounced('a', T0)
      await insert([first])
      const second = debounced('b', T0 + 1_000, {}, { idempotencyKey: 'once' })
      expect(await insert([second], T0 + 1_000)).toEqual([{ dispatchId: first.dispatchId, inserted: false }])
      const repeat = debounced('b', T0 + 2_000, {}, { idempotencyKey: 'once' })
      expect(await insert([repeat], T0 + 2_000)).toEqual([{ dispatchId: first.dispatchId, inserted: false }])
      const kept = await store.getCall(first.dispatchId)
      expect(kept?.dueAt).toBe(T0 + 1_000 + WINDOW)
      expect(kept?.debounce?.dispatches).toBe(2)
    })

    it('List and a claim read the debounce back', async () => {
      const first = debounced('a', T0, { keep: 'first', until: T0 + 60_000 })
      await insert([first, debounced('b', T0)])
      const listed = await store.listCalls({ limit: 10 })
      expect(listed.calls.map((c) => c.debounce)).toEqual([
        { key: 'k', keep: 'first', windowMs: WINDOW, until: T0 + 60_000, dispatches: 2 },
      ])
      const [claimed] = await claim(T0 + WINDOW)
      expect(claimed?.debounce?.dispatches).toBe(2)
    })

    const { secondNode } = options
    if (secondNode !== undefined) {
      it('two nodes dispatching the same key at once end with one call', async () => {
        const other = await secondNode(store)
        try {
          const batches = Array.from({ length: 8 }, (_, i) => [debounced(`v${i}`, T0)])
          const results = await Promise.all(batches.map((batch, i) => insert(batch, T0, i % 2 === 0 ? store : other)))
          const ids = new Set(results.map(([r]) => r!.dispatchId))
          expect(ids.size).toBe(1)
          expect(results.filter(([r]) => r!.inserted)).toHaveLength(1)
          const [id] = [...ids]
          expect((await store.getCall(id!))?.debounce?.dispatches).toBe(8)
          expect((await store.listCalls({ limit: 20 })).calls).toHaveLength(1)
        } finally {
          await other.close()
        }
      })
    }
  })
}
