import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { IdempotencyConflict } from '../../scheduler/store/idempotencyConflict.js'
import type { NewCall, Store } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { newCall, T0 } from './newCall.js'

const WINDOW = 60_000

export interface IdempotencyConformanceOptions {
  /**
   * A store of the schema version before keys were scoped, holding `call` with its idempotency key
   * recorded at `call.createdAt`, opened (and so migrated) by the current code.
   */
  migratedFromUnscoped: (call: NewCall) => Promise<Store>
}

const input = (text: string) => ({ '@type': VALUE_TYPE_URL, value: [text] })

/**
 * Idempotency keys are scoped to a call's function and endpoint, and a key reused with another input
 * is refused: the behaviour every store implementation must have, next to test/scheduler/storeConformance.ts.
 */
export function idempotencyConformance(
  name: string,
  makeStore: () => Promise<Store> | Store,
  options: IdempotencyConformanceOptions,
): void {
  describe(`Idempotency key conformance: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })
    const insert = (calls: NewCall[], now = T0) => store.insertCalls(calls, { now, idempotencyWindowMs: WINDOW })
    const conflictOf = (calls: NewCall[], now = T0) =>
      insert(calls, now).then(
        () => undefined,
        (error: unknown) => error,
      )

    it('scopes a key to its function and endpoint: the same key elsewhere is another call', async () => {
      const a = newCall({ idempotencyKey: 'order-42', function: 'charge', input: input('tenant A') })
      const b = newCall({ idempotencyKey: 'order-42', function: 'ship', input: input('tenant B') })
      const c = newCall({ idempotencyKey: 'order-42', function: 'charge', endpoint: 'http://127.0.0.1:10/' })
      expect(await insert([a])).toEqual([{ dispatchId: a.dispatchId, inserted: true }])
      expect(await insert([b, c])).toEqual([
        { dispatchId: b.dispatchId, inserted: true },
        { dispatchId: c.dispatchId, inserted: true },
      ])
      expect((await store.getCall(b.dispatchId))?.input).toEqual(input('tenant B'))
    })

    it('returns the first id for the same key and input, and refuses another input, storing nothing', async () => {
      const first = newCall({ idempotencyKey: 'pay-1', input: input('10 EUR') })
      await insert([first])
      const same = newCall({ idempotencyKey: 'pay-1', input: input('10 EUR') })
      expect(await insert([same], T0 + 10)).toEqual([{ dispatchId: first.dispatchId, inserted: false }])

      const innocent = newCall({ input: input('other') })
      const changed = newCall({ idempotencyKey: 'pay-1', input: input('99 EUR') })
      const error = await conflictOf([innocent, changed], T0 + 20)
      expect(error).toBeInstanceOf(IdempotencyConflict)
      expect(error).toMatchObject({ index: 1, key: 'pay-1', dispatchId: first.dispatchId })
      expect((error as Error).message).toContain('different input')
      expect(await store.getCall(innocent.dispatchId)).toBeUndefined()
      expect(await store.getCall(changed.dispatchId)).toBeUndefined()
      expect((await store.getCall(first.dispatchId))?.input).toEqual(input('10 EUR'))
    })

    it('applies the same rules within one batch', async () => {
      const a = newCall({ idempotencyKey: 'b-1', input: input('x') })
      const repeat = newCall({ idempotencyKey: 'b-1', input: input('x') })
      expect(await insert([a, repeat])).toEqual([
        { dispatchId: a.dispatchId, inserted: true },
        { dispatchId: a.dispatchId, inserted: false },
      ])
      const c = newCall({ idempotencyKey: 'b-2', input: input('x') })
      const d = newCall({ idempotencyKey: 'b-2', input: input('y') })
      expect(await conflictOf([c, d])).toMatchObject({ index: 1, dispatchId: c.dispatchId })
      expect(await store.getCall(c.dispatchId)).toBeUndefined()
    })

    it('lets another input take a key over once the window has passed', async () => {
      const old = newCall({ idempotencyKey: 'late', input: input('first') })
      await insert([old])
      const later = newCall({ idempotencyKey: 'late', input: input('second') })
      expect(await insert([later], T0 + WINDOW + 1)).toEqual([{ dispatchId: later.dispatchId, inserted: true }])
      const again = newCall({ idempotencyKey: 'late', input: input('second') })
      expect(await insert([again], T0 + WINDOW + 2)).toEqual([{ dispatchId: later.dispatchId, inserted: false }])
    })

    it('keeps the keys of a database from before scoping: same function and endpoint, any input', async () => {
      const legacy = newCall({ idempotencyKey: 'legacy-1', function: 'charge', input: input('a') })
      const migrated = await options.migratedFromUnscoped(legacy)
      try {
        const write = (calls: NewCall[]) => migrated.insertCalls(calls, { now: T0 + 5, idempotencyWindowMs: WINDOW })
        const repeat = newCall({ idempotencyKey: 'legacy-1', function: 'charge', input: input('b') })
        expect(await write([repeat])).toEqual([{ dispatchId: legacy.dispatchId, inserted: false }])
        const elsewhere = newCall({ idempotencyKey: 'legacy-1', function: 'ship' })
        expect(await write([elsewhere])).toEqual([{ dispatchId: elsewhere.dispatchId, inserted: true }])
        expect((await migrated.getCall(legacy.dispatchId))?.input).toEqual(input('a'))
      } finally {
        await migrated.close()
      }
    })
  })
}
