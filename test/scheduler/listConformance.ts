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
