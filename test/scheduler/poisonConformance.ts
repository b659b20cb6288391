import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Completion, NewCall, Store, StoredCall } from '../../scheduler/store/store.js'
import { newCall, T0 } from './newCall.js'

const WINDOW = 60_000
const LEASE = 30_000

/**
 * Values only one of the stores could hold (a NUL in text, a fraction of a millisecond, a queue key
 * too long for PostgreSQL's index) and outcomes a store cannot write: both stores must accept and
 * refuse exactly the same, and one bad outcome must never fail a batch of outcomes. Run with a factory
 * that returns a fresh, empty store each time, like the main conformance suite.
 */
export function poisonConformance(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`Store conformance, values only one store could hold: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    const insert = (calls: NewCall[], now = T0) => store.insertCalls(calls, { now, idempotencyWindowMs: WINDOW })
    const claimAll = async (calls: NewCall[]): Promise<StoredCall[]> => {
      await insert(calls)
      const claimed = await store.claimCalls({ now: T0, limit: 100, owner: 'node-a', leaseMs: LEASE })
      expect(claimed).toHaveLength(calls.length)
      return calls.map((c) => claimed.find((x) => x.dispatchId === c.dispatchId)!)
    }
    const base = (c: StoredCall, now = T0 + 10) => ({
      dispatchId: c.dispatchId,
      attempt: c.attempts,
      owner: 'node-a',
      now,
    })
    const succeed = (c: StoredCall): Completion => ({
      ...base(c),
      kind: 'succeeded',
      status: 'STATUS_OK',
      output: undefined,
      error: undefined,
    })
    const retry = (c: StoredCall, dueAt: number): Completion => ({
      ...base(c),
      kind: 'retry',
      status: 'STATUS_TEMPORARY_ERROR',
      dueAt,
      error: { type: 'Later', message: 'try again' },
    })
    const tail = (c: StoredCall, over: Partial<Extract<Completion, { kind: 'tailCall' }>> = {}): Completion => ({
      ...base(c),
      kind: 'tailCall',
      status: 'STATUS_OK',
      function: 'next',
      endpoint: 'http://127.0.0.1:9/',
      input: undefined,
      version: undefined,
      expiresAt: undefined,
      expirationMs: undefined,
      ...over,
    })
    const poll = (c: StoredCall, children: NewCall[], deadline: number | undefined = undefined): Completion => ({
      ...base(c),
      kind: 'poll',
      status: 'STATUS_OK',
      poll: { state: { coroutineState: 'AA==' }, minResults: 1, maxResults: 10, deadline, error: undefined },
      children: children.map((child) => ({ ...child, parentDispatchId: c.dispatchId, rootDispatchId: c.dispatchId })),
      consumed: [],
    })
    const get = async (id: string) => (await store.getCall(id))!

    it('stores times with a fraction of a millisecond rounded to whole milliseconds', async () => {
      const call = newCall({ dueAt: T0 + 0.4, expiresAt: T0 + 1000.6, expirationMs: 1000.6, createdAt: T0 + 0.2 })
      await insert([call])
      expect(await get(call.dispatchId)).toMatchObject({
        dueAt: T0,
        expiresAt: T0 + 1001,
        expirationMs: 1001,
        createdAt: T0,
      })
    })

    it.each([
      ['endpoint', { endpoint: 'http://127.0.0.1:9/a\u0000b' }],
      ['idempotencyKey', { idempotencyKey: 'key\u0000' }],
      ['fairnessKey', { fairnessKey: '\u0000tenant' }],
      ['version', { version: 'v1\u0000' }],
    ])('refuses a NUL character in %s with DSP3520, storing nothing of the batch', async (field, bad) => {
      const good = newCall()
      const poisoned = newCall(bad)
      const refusal = await insert([good, poisoned]).catch((e: unknown) => e)
      expect(refusal).toMatchObject({ code: 'DSP3520' })
      expect(String((refusal as Error).message)).toContain(field)
      expect(await store.getCall(good.dispatchId)).toBeUndefined()
      expect(await store.getCall(poisoned.dispatchId)).toBeUndefined()
      expect(await store.countCalls()).toEqual([])
    })

    it('refuses a time no Date can hold, and a queue key too long to index, with DSP3520', async () => {
      for (const bad of [
        newCall({ dueAt: 9e15 }),
        newCall({ expiresAt: Number.POSITIVE_INFINITY }),
        newCall({ expirationMs: Number.NaN }),
        // 2,000 three-byte characters: PostgreSQL refused the index entry, SQLite kept it.
        newCall({ endpoint: `http://127.0.0.1:9/${'\u4e01\u4e8c\u4e09'.repeat(700)}`, fairnessKey: 'tenant' }),
      ]) {
        await expect(insert([bad])).rejects.toMatchObject({ code: 'DSP3520' })
      }
      expect(await store.countCalls()).toEqual([])
    })

    it('records an outcome it cannot hold as a failure of that call alone and applies the rest of the batch', async () => {
      const [a, b, c, d, e, f] = await claimAll([newCall(), newCall(), newCall(), newCall(), newCall(), newCall()])
      const applied = await store.completeAttempts([
        succeed(a!),
        tail(b!, { endpoint: 'http://127.0.0.1:9/\u0000' }),
        retry(c!, T0 + 500.7),
        poll(d!, [newCall({ fairnessKey: 'tenant\u0000' })]),
        tail(e!, { expiresAt: T0 + 2000.5, expirationMs: 1999.5 }),
        poll(f!, [newCall({ expiresAt: T0 + 100.2, expirationMs: 90.2 })], T0 + 50.5),
      ])
      expect(applied).toEqual([true, true, true, true, true, true])
      expect(await get(a!.dispatchId)).toMatchObject({ state: 'succeeded' })
      for (const refused of [b!, d!]) {
        const call = await get(refused.dispatchId)
        expect(call).toMatchObject({ state: 'failed', status: 'STATUS_INVALID_RESPONSE' })
        expect(call.error).toMatchObject({ type: 'StoreRefused' })
        expect(call.error!.message).toMatch(/DSP3520|NUL/)
      }
      expect(await get(c!.dispatchId)).toMatchObject({ state: 'pending', dueAt: T0 + 501 })
      expect(await get(e!.dispatchId)).toMatchObject({ state: 'pending', function: 'next', expiresAt: T0 + 2001 })
      // 50.5 and 100.2 rounded: the Poll is due at its deadline, its child expires with whole milliseconds.
      expect(await get(f!.dispatchId)).toMatchObject({ state: 'suspended', dueAt: T0 + 51 })
      const children = (await store.listCalls({ parentDispatchId: f!.dispatchId, limit: 10 })).calls
      expect(children).toHaveLength(1)
      expect(children[0]).toMatchObject({ expiresAt: T0 + 100, expirationMs: 90 })
    })

    it('isolates an outcome the database refuses, records it as a failure, and commits the others', async () => {
      const [a, b, c, d] = await claimAll([newCall(), newCall(), newCall(), newCall()])
      // A child whose id is taken: the insert of the Poll's children violates the primary key.
      const clash = newCall({ dispatchId: a!.dispatchId })
      const applied = await store.completeAttempts([succeed(a!), poll(b!, [clash]), retry(c!, T0 + 700), succeed(d!)])
      expect(applied).toEqual([true, true, true, true])
      expect(await get(a!.dispatchId)).toMatchObject({ state: 'succeeded' })
      const refused = await get(b!.dispatchId)
      expect(refused).toMatchObject({ state: 'failed', error: { type: 'StoreRefused' } })
      expect(refused.error!.message).toContain('poll')
      expect(await get(c!.dispatchId)).toMatchObject({ state: 'pending', dueAt: T0 + 700 })
      expect(await get(d!.dispatchId)).toMatchObject({ state: 'succeeded' })
      // Nothing is left leased: a later claim finds only the retried call, once due.
      expect(await store.claimCalls({ now: T0 + LEASE * 2, limit: 10, owner: 'node-b', leaseMs: LEASE })).toEqual([
        expect.objectContaining({ dispatchId: c!.dispatchId }),
      ])
    })
  })
}
