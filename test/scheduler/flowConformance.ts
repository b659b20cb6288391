import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewCall, Store } from '../../scheduler/store/store.js'
import { newCall, T0 } from './newCall.js'

const WINDOW = 60_000
const LEASE = 30_000
const QUEUE = { endpoint: 'http://127.0.0.1:9/', function: 'publish', fairnessKey: undefined }

/**
 * Flow control (docs/flow-control.md) as every {@link Store} must keep it: a call's priority is
 * stored and read back by every read, and a priority's head start (an earlier `dueAt`, given by the
 * scheduler at dispatch) orders claims within a fair queue — ahead of a younger backlog, behind
 * calls that have waited longer than the head start.
 */
export function flowConformance(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`Store conformance, flow control: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })
    const insert = (calls: NewCall[]) => store.insertCalls(calls, { now: T0, idempotencyWindowMs: WINDOW })

    it('keeps each call priority: Get, List and claims read it back; 0 when none was given', async () => {
      const urgent = newCall({ priority: 7 })
      const plain = newCall()
      await insert([urgent, plain])
      expect((await store.getCall(urgent.dispatchId))?.priority).toBe(7)
      expect((await store.getCall(plain.dispatchId))?.priority).toBe(0)
      const listed = await store.listCalls({ limit: 10 })
      expect(Object.fromEntries(listed.calls.map((c) => [c.dispatchId, c.priority]))).toEqual({
        [urgent.dispatchId]: 7,
        [plain.dispatchId]: 0,
      })
      const claimed = await store.claimCalls({ now: T0, limit: 10, owner: 'node-a', leaseMs: LEASE })
      expect(Object.fromEntries(claimed.map((c) => [c.dispatchId, c.priority]))).toEqual({
        [urgent.dispatchId]: 7,
        [plain.dispatchId]: 0,
      })
    })

    it('claims a head-started call of a fair queue before its younger backlog, after calls that waited longer', async () => {
      // A backlog that became due over the last 10 s, an old call due 2 minutes ago, and a call
      // dispatched now with a 1-minute head start (priority 1 at the default step).
      const backlog = Array.from({ length: 20 }, (_, i) => newCall({ dueAt: T0 - 10_000 + i * 500 }))
      const old = newCall({ dueAt: T0 - 120_000 })
      const urgent = newCall({ dueAt: T0 - 60_000, priority: 1 })
      await insert([...backlog, old, urgent])
      const claimOne = async () => {
        const request = { now: T0, owner: 'node-a', leaseMs: LEASE }
        const calls =
          store.claimQueues === undefined
            ? await store.claimCalls({ ...request, limit: 1, queue: QUEUE })
            : await store.claimQueues({ ...request, queues: [{ queue: QUEUE, limit: 1 }] })
        return calls.map((c) => c.dispatchId)
      }
      expect(await claimOne()).toEqual([old.dispatchId])
      expect(await claimOne()).toEqual([urgent.dispatchId])
      expect(await claimOne()).toEqual([backlog[0]!.dispatchId])
    })
  })
}
