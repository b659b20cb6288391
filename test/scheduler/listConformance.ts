import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewCall, Store } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { newCall, T0 } from './newCall.js'

const input = (chars: number) => ({ '@type': VALUE_TYPE_URL, value: ['z'.repeat(chars)] })
const bytes = (call: NewCall) => JSON.stringify(call.input).length

/**
 * List pages over large calls, the behaviour every store implementation must have: messages over the
 * cap are left out (their size given), a page ends at its byte budget, and paging visits every call once.
 */
export function listConformance(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`List conformance: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    it('leaves out the messages over the cap and gives their size; Get returns them', async () => {
      const large = newCall({ input: input(300_000) })
      const small = newCall({ input: input(10) })
      await store.insertCalls([large, small], { now: T0, idempotencyWindowMs: 1000 })
      const page = await store.listCalls({ limit: 10, maxMessageBytes: 1000 })
      const byId = new Map(page.calls.map((c) => [c.dispatchId, c]))
      expect(byId.get(large.dispatchId)).toMatchObject({ input: undefined, inputBytes: bytes(large) })
      expect(byId.get(small.dispatchId)).toMatchObject({ input: small.input, inputBytes: undefined })
      expect(byId.get(small.dispatchId)?.outputBytes).toBeUndefined()
      expect((await store.getCall(large.dispatchId))?.input).toEqual(large.input)
      const uncapped = await store.listCalls({ limit: 10 })
      expect(uncapped.calls.find((c) => c.dispatchId === large.dispatchId)?.input).toEqual(large.input)
    })

    it('filters by endpoint, creation time and a search on the dispatch id or idempotency key', async () => {
      const a = newCall({ endpoint: 'http://127.0.0.1:9/a', createdAt: T0 - 60_000 })
      const b = newCall({ endpoint: 'http://127.0.0.1:9/b', createdAt: T0, idempotencyKey: 'order-42' })
      const c = newCall({ endpoint: 'http://127.0.0.1:9/b', createdAt: T0 + 60_000 })
      await store.insertCalls([a, b, c], { now: T0, idempotencyWindowMs: 1000 })
      const ids = async (filter: Omit<Parameters<Store['listCalls']>[0], 'limit'>) =>
        (await store.listCalls({ limit: 10, ...filter })).calls.map((call) => call.dispatchId).sort()
      expect(await ids({ endpoint: 'http://127.0.0.1:9/b' })).toEqual([b.dispatchId, c.dispatchId].sort())
      expect(await ids({ createdFrom: T0 })).toEqual([b.dispatchId, c.dispatchId].sort())
      expect(await ids({ createdBefore: T0 })).toEqual([a.dispatchId])
      expect(await ids({ createdFrom: T0, createdBefore: T0 + 1 })).toEqual([b.dispatchId])
      expect(await ids({ search: 'order-42' })).toEqual([b.dispatchId])
      expect(await ids({ search: c.dispatchId })).toEqual([c.dispatchId])
      expect(await ids({ search: 'no-such-key' })).toEqual([])
      expect(await ids({ search: 'order-42', endpoint: 'http://127.0.0.1:9/a' })).toEqual([])
    })

    it('ends a page at its byte budget, never empty, and pages through every call once', async () => {
      const calls = Array.from({ length: 7 }, (_, i) => newCall({ input: input(i === 3 ? 5000 : 1000) }))
      await store.insertCalls(calls, { now: T0, idempotencyWindowMs: 1000 })
      const seen: string[] = []
      let after: string | undefined
      let pages = 0
      do {
        const page = await store.listCalls({ limit: 5, maxPageBytes: 2500, ...(after ? { after } : {}) })
        expect(page.calls.length).toBeGreaterThan(0)
        expect(page.calls.length).toBeLessThanOrEqual(2)
        seen.push(...page.calls.map((c) => c.dispatchId))
        after = page.nextAfter
        pages++
      } while (after !== undefined && pages < 20)
      expect(seen).toEqual(
        calls
          .map((c) => c.dispatchId)
          .sort()
          .reverse(),
      )
    })
  })
}
