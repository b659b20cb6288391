import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CappedClaimRequest, NewCall, Store } from '../../scheduler/store/store.js'
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
export function flowConformance(
  name: string,
  makeStore: () => Promise<Store> | Store,
  options: {
    readonly secondNode?: (store: Store) => Promise<Store>
    /** Rows of `calls` a capped claim reads (without claiming), where the store can tell. */
    readonly examinedRows?: (store: Store, request: CappedClaimRequest) => Promise<number>
  } = {},
): void {
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

    const capped = (key: string, limit: number, dueAt = T0) => newCall({ dueAt, concurrency: { key, limit } })
    const claimCapped = (s: Store, now = T0, owner = 'node-a') =>
      s.claimCapped!({ now, limit: 100, owner, leaseMs: LEASE }).then((calls) => calls.map((c) => c.dispatchId))
    const succeed = (s: Store, call: { dispatchId: string }, attempt = 1, owner = 'node-a') =>
      s.completeAttempts([
        {
          dispatchId: call.dispatchId,
          attempt,
          owner,
          now: T0,
          status: 'STATUS_OK',
          kind: 'succeeded',
          output: undefined,
          error: undefined,
        },
      ])

    it('leaves capped calls to claimCapped, which takes each key up to its limit, oldest first', async () => {
      if (store.claimCapped === undefined) return
      const a = [0, 1, 2, 3, 4].map((i) => capped('acct-a', 2, T0 - 100 + i))
      const b = [0, 1].map((i) => capped('acct-b', 1, T0 - 50 + i))
      const everyCall = capped('', 3, T0 - 10) // the function-wide key
      const plain = newCall()
      await insert([...a, ...b, everyCall, plain])
      expect((await store.getCall(a[0]!.dispatchId))?.concurrency).toEqual({ key: 'acct-a', limit: 2 })
      expect((await store.getCall(plain.dispatchId))?.concurrency).toBeUndefined()
      // Ordinary claims, of every queue or of one, pass over the capped calls.
      const ordinary = await store.claimCalls({ now: T0, limit: 100, owner: 'node-a', leaseMs: LEASE })
      expect(ordinary.map((c) => c.dispatchId)).toEqual([plain.dispatchId])
      expect(await store.claimCalls({ now: T0, limit: 100, owner: 'node-a', leaseMs: LEASE, queue: QUEUE })).toEqual([])
      const first = await claimCapped(store)
      expect(new Set(first)).toEqual(
        new Set([a[0]!.dispatchId, a[1]!.dispatchId, b[0]!.dispatchId, everyCall.dispatchId]),
      )
      // Every key is full: nothing more until a running call ends.
      expect(await claimCapped(store)).toEqual([])
      expect(await succeed(store, a[0]!)).toEqual([true])
      expect(await claimCapped(store)).toEqual([a[2]!.dispatchId])
      expect(await claimCapped(store)).toEqual([])
      // Leases that expired no longer hold their slots (a dead node's): each key takes up to its limit
      // again, among its pending calls and those whose lease expired, oldest due first.
      const later = await store.getCalls(await claimCapped(store, T0 + LEASE + 1, 'node-b'))
      const keys = later.map((c) => c.concurrency?.key).sort()
      expect(keys).toEqual(['', 'acct-a', 'acct-a', 'acct-b'])
    })

    it('never runs more than the limit of a key when two nodes claim at once', async () => {
      if (store.claimCapped === undefined || options.secondNode === undefined) return
      const other = await options.secondNode(store)
      try {
        const calls = Array.from({ length: 40 }, (_, i) => capped(`k${i % 2}`, 3, T0 - 100 + i))
        await insert(calls)
        const owners = new Map<string, string>()
        for (let round = 0; round < 20; round++) {
          const [mine, theirs] = await Promise.all([claimCapped(store, T0, 'node-a'), claimCapped(other, T0, 'node-b')])
          for (const id of mine) owners.set(id, 'node-a')
          for (const id of theirs) owners.set(id, 'node-b')
          const running = (await store.listCalls({ state: 'running', limit: 1000 })).calls
          for (const key of ['k0', 'k1']) {
            expect(running.filter((c) => c.concurrency?.key === key).length).toBeLessThanOrEqual(3)
          }
          // End one running call of each key, on the node that holds it, so the next round has room.
          for (const key of ['k0', 'k1']) {
            const done = running.find((c) => c.concurrency?.key === key)
            if (done !== undefined) {
              const s = owners.get(done.dispatchId) === 'node-b' ? other : store
              await succeed(s, done, done.attempts, owners.get(done.dispatchId))
            }
          }
        }
        expect((await store.listCalls({ state: 'succeeded', limit: 1000 })).calls.length).toBe(40)
      } finally {
        await other.close()
      }
    })

    const rated = (key: string, limit: number, dueAt: number, periodMs = 10_000) =>
      newCall({ dueAt, rateLimit: { key, limit, periodMs } })

    it('takes rate-limited calls up to the limit of starts per period per key, oldest first; the rest wait', async () => {
      if (store.claimCapped === undefined) return
      const a = [0, 1, 2, 3, 4].map((i) => rated('cust-a', 2, T0 - 100 + i))
      const b = [0, 1, 2].map((i) => rated('cust-b', 2, T0 - 50 + i))
      const plain = newCall()
      if (store.nextRateOpening !== undefined) expect(await store.nextRateOpening(T0)).toBeUndefined()
      await insert([...a, ...b, plain])
      const read = await store.getCall(a[0]!.dispatchId)
      expect(read?.rateLimit).toEqual({ key: 'cust-a', limit: 2, periodMs: 10_000 })
      expect(read?.concurrency).toBeUndefined()
      expect(
        (await store.listCalls({ limit: 100 })).calls.find((c) => c.dispatchId === b[0]!.dispatchId)?.rateLimit,
      ).toEqual({ key: 'cust-b', limit: 2, periodMs: 10_000 })
      // Ordinary claims pass over rate-limited calls.
      const ordinary = await store.claimCalls({ now: T0, limit: 100, owner: 'node-a', leaseMs: LEASE })
      expect(ordinary.map((c) => c.dispatchId)).toEqual([plain.dispatchId])
      expect(new Set(await claimCapped(store))).toEqual(
        new Set([a[0]!.dispatchId, a[1]!.dispatchId, b[0]!.dispatchId, b[1]!.dispatchId]),
      )
      // The first starts leave their period at T0 + 10 s: a key may have room again then.
      if (store.nextRateOpening !== undefined) {
        expect(await store.nextRateOpening(T0)).toBe(T0 + 10_000)
        expect(await store.nextRateOpening(T0 + 10_000)).toBeUndefined()
      }
      // An attempt that ended still counts as a start of its period.
      expect(await succeed(store, a[0]!)).toEqual([true])
      expect(await claimCapped(store, T0 + 9_999)).toEqual([])
      // The period of the first starts has passed: two more per key, in due order.
      expect(new Set(await claimCapped(store, T0 + 10_000))).toEqual(
        new Set([a[2]!.dispatchId, a[3]!.dispatchId, b[2]!.dispatchId]),
      )
      expect(await claimCapped(store, T0 + 19_999)).toEqual([])
      expect(await claimCapped(store, T0 + 20_000)).toEqual([a[4]!.dispatchId])
    })

    it('holds a rate limit and a concurrency limit of one call together', async () => {
      if (store.claimCapped === undefined) return
      const calls = [0, 1, 2].map((i) =>
        newCall({
          dueAt: T0 - 10 + i,
          rateLimit: { key: '', limit: 2, periodMs: 10_000 },
          concurrency: { key: 'acct', limit: 1 },
        }),
      )
      await insert(calls)
      expect(await claimCapped(store)).toEqual([calls[0]!.dispatchId])
      expect(await succeed(store, calls[0]!)).toEqual([true])
      expect(await claimCapped(store)).toEqual([calls[1]!.dispatchId])
      expect(await succeed(store, calls[1]!)).toEqual([true])
      // Its key has room again, but two starts within the period used the rate limit.
      expect(await claimCapped(store, T0 + 5_000)).toEqual([])
      expect(await claimCapped(store, T0 + 10_000)).toEqual([calls[2]!.dispatchId])
    })

    it('never starts more than the rate limit of a key within a period when two nodes claim at once', async () => {
      if (store.claimCapped === undefined || options.secondNode === undefined) return
      const other = await options.secondNode(store)
      try {
        const period = 10_000
        await insert(Array.from({ length: 60 }, (_, i) => rated(`k${i % 2}`, 5, T0 - 100 + i, period)))
        const starts: { key: string; at: number }[] = []
        for (let round = 0; round < 8; round++) {
          const now = T0 + round * 2_500
          const [mine, theirs] = await Promise.all([
            claimCapped(store, now, 'node-a'),
            claimCapped(other, now, 'node-b'),
          ])
          for (const call of await store.getCalls([...mine, ...theirs])) {
            starts.push({ key: call.rateLimit!.key, at: now })
          }
        }
        for (const key of ['k0', 'k1']) {
          const times = starts.filter((s) => s.key === key).map((s) => s.at)
          // Every period (a start and the period before it) holds at most the limit; each period was used.
          for (const at of times) expect(times.filter((t) => t > at - period && t <= at).length).toBeLessThanOrEqual(5)
          expect(times.length).toBe(10)
        }
      } finally {
        await other.close()
      }
    })

    it('lets the queues waiting on one key take turns, from where earlier claims left them (turns, costs)', async () => {
      if (store.claimCapped === undefined) return
      const tenant = (fairnessKey: string, n: number, from: number) =>
        Array.from({ length: n }, (_, i) =>
          newCall({ fairnessKey, dueAt: from + i, rateLimit: { key: '', limit: 2, periodMs: 5_000 } }),
        )
      // Tenant a's backlog is older than all of tenant b's calls.
      const a = tenant('a', 6, T0 - 100)
      const b = tenant('b', 4, T0 - 50)
      await insert([...a, ...b])
      const queueA = { ...QUEUE, fairnessKey: 'a' }
      const claim = (now: number, turns: { queue: typeof queueA; offset: number }[] = [], costs = {}) =>
        store.claimCapped!({ now, limit: 100, owner: 'node-a', leaseMs: LEASE, turns, costs }).then(
          (calls) => new Set(calls.map((c) => c.dispatchId)),
        )
      // The key's two starts go one to each queue, not both to the older backlog.
      expect(await claim(T0)).toEqual(new Set([a[0]!.dispatchId, b[0]!.dispatchId]))
      // Tenant a was served one call ahead: b's next two calls rank with a's next one.
      expect(await claim(T0 + 5_000, [{ queue: queueA, offset: 1 }])).toEqual(
        new Set([b[1]!.dispatchId, a[1]!.dispatchId]),
      )
      // Weight 4 for tenant b (cost 1/4): its next two calls rank before a's next one.
      expect(await claim(T0 + 10_000, [], { b: 0.25 })).toEqual(new Set([b[2]!.dispatchId, b[3]!.dispatchId]))
      expect(await claim(T0 + 15_000)).toEqual(new Set([a[2]!.dispatchId, a[3]!.dispatchId]))
    })

    it("finds every rate key's calls under one concurrency key, whatever the backlog of another rate key", async () => {
      if (store.claimCapped === undefined) return
      // `@concurrency 50` on the whole function, `@rateLimit 1/1h key=customerId`.
      const call = (customer: string, dueAt: number) =>
        newCall({
          dueAt,
          concurrency: { key: '', limit: 50 },
          rateLimit: { key: customer, limit: 1, periodMs: 3_600_000 },
        })
      const backlog = Array.from({ length: 20 }, (_, i) => call('cust-a', T0 - 100 + i))
      const other = call('cust-b', T0)
      await insert([...backlog, other])
      // A claim of 5 reads the first 5 of each group: cust-b's call is in a group of its own.
      const claimed = await store.claimCapped({ now: T0, limit: 5, owner: 'node-a', leaseMs: LEASE })
      expect(new Set(claimed.map((c) => c.dispatchId))).toEqual(new Set([backlog[0]!.dispatchId, other.dispatchId]))
    })

    it("takes no concurrency slot for a call its rate limit holds back: another rate key's call starts", async () => {
      if (store.claimCapped === undefined) return
      // `@concurrency 2` on the whole function, `@rateLimit 1/1h key=customerId`.
      const call = (customer: string, dueAt: number) =>
        newCall({
          dueAt,
          concurrency: { key: '', limit: 2 },
          rateLimit: { key: customer, limit: 1, periodMs: 3_600_000 },
        })
      const a = [0, 1, 2].map((i) => call('cust-a', T0 - 100 + i))
      await insert(a)
      expect(await claimCapped(store)).toEqual([a[0]!.dispatchId])
      // One slot of 2 is free; cust-a's next calls wait for their period (an hour), cust-b's need not.
      const b = call('cust-b', T0)
      await insert([b])
      expect(await claimCapped(store)).toEqual([b.dispatchId])
    })

    it("takes no start of a rate limit for a call its key's concurrency holds back: another key's call starts", async () => {
      if (store.claimCapped === undefined) return
      // `@concurrency 1 key=customerId`, `@rateLimit 2/1h` on the whole function.
      const call = (customer: string, dueAt: number) =>
        newCall({
          dueAt,
          concurrency: { key: customer, limit: 1 },
          rateLimit: { key: '', limit: 2, periodMs: 3_600_000 },
        })
      const a = [0, 1].map((i) => call('cust-a', T0 - 100 + i))
      await insert(a)
      expect(await claimCapped(store)).toEqual([a[0]!.dispatchId])
      // One start of 2 is left; cust-a's next call waits for its running one, cust-b's need not.
      const b = call('cust-b', T0)
      await insert([b])
      expect(await claimCapped(store)).toEqual([b.dispatchId])
    })

    it('claims right from a large capped backlog: the heads of each key and queue, other keys not held back', async () => {
      if (store.claimCapped === undefined) return
      const backlog = Array.from({ length: 5_000 }, (_, i) =>
        newCall({ fairnessKey: 'a', dueAt: T0 - 10_000 + i, concurrency: { key: 'big', limit: 2 } }),
      )
      const otherQueue = newCall({ fairnessKey: 'b', dueAt: T0 - 1, concurrency: { key: 'big', limit: 2 } })
      const otherKey = newCall({ fairnessKey: 'a', dueAt: T0, rateLimit: { key: 'small', limit: 1, periodMs: 1_000 } })
      // Behind the backlog's group in every order: a later key of the same function, another function.
      const laterKey = newCall({ fairnessKey: 'a', dueAt: T0, concurrency: { key: 'zzz', limit: 1 } })
      const laterFunction = newCall({ function: 'zzz', dueAt: T0, concurrency: { key: 'big', limit: 1 } })
      await insert([...backlog, otherQueue, otherKey, laterKey, laterFunction])
      expect(new Set(await claimCapped(store))).toEqual(
        new Set([
          backlog[0]!.dispatchId,
          otherQueue.dispatchId,
          otherKey.dispatchId,
          laterKey.dispatchId,
          laterFunction.dispatchId,
        ]),
      )
      expect(await claimCapped(store)).toEqual([])
      expect(await succeed(store, backlog[0]!)).toEqual([true])
      expect(await claimCapped(store)).toEqual([backlog[1]!.dispatchId])
      if (options.examinedRows !== undefined) {
        // What one claim reads of the calls: the heads of its groups, not the 5,000 waiting.
        expect(
          await options.examinedRows(store, { now: T0, limit: 100, owner: 'node-a', leaseMs: LEASE }),
        ).toBeLessThan(500)
      }
    })
  })
}
