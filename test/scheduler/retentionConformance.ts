import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Completion, NewCall, Store, StoredCall, StoredPoll } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { newCall, T0 } from './newCall.js'

const LEASE = 30_000
const OWNER = 'node-a'
const DAY = 86_400_000
const v = (value: unknown) => ({ '@type': VALUE_TYPE_URL, value })

const poll = (deadline?: number): StoredPoll => ({
  state: { coroutineState: 'c3RhdGU=' },
  minResults: 1,
  maxResults: 1000,
  deadline,
  error: undefined,
})

/**
 * Retention at the store level (`purgeFinishedCalls`), run on every store: finished calls go oldest
 * first in bounded batches; live calls, and finished calls whose parent or root is live, stay.
 */
export function retentionConformance(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`Store conformance, retention: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    const insert = (calls: NewCall[], now = T0) => store.insertCalls(calls, { now, idempotencyWindowMs: 60_000 })
    const claimAll = (now: number) => store.claimCalls({ now, limit: 100, owner: OWNER, leaseMs: LEASE })
    const claimOne = async (id: string, now: number): Promise<StoredCall> => {
      const found = (await claimAll(now)).find((c) => c.dispatchId === id)
      if (found === undefined) throw new Error(`${id} was not claimable at T0+${now - T0}`)
      return found
    }
    const base = (c: StoredCall, now: number) => ({ dispatchId: c.dispatchId, attempt: c.attempts, owner: OWNER, now })
    const succeed = (c: StoredCall, now: number): Completion => ({
      ...base(c, now),
      kind: 'succeeded',
      status: 'STATUS_OK',
      output: v('done'),
      error: undefined,
    })
    const suspend = (c: StoredCall, now: number, kids: NewCall[], deadline?: number): Completion => ({
      ...base(c, now),
      kind: 'poll',
      status: 'STATUS_OK',
      poll: poll(deadline),
      children: kids,
      consumed: c.results.map((r) => r.seq),
    })
    const childOf = (parent: StoredCall, i = 0): NewCall =>
      newCall({
        function: 'child',
        correlationId: String(i + 1),
        parentDispatchId: parent.dispatchId,
        rootDispatchId: parent.rootDispatchId ?? parent.dispatchId,
      })
    const exists = async (ids: readonly string[]) => new Set((await store.getCalls(ids)).map((c) => c.dispatchId))

    /** Calls due at T0, T0+1, ... and finished one per instant, at T0+1, T0+2, ... */
    async function finished(n: number): Promise<string[]> {
      const calls = Array.from({ length: n }, (_, i) => newCall({ dueAt: T0 + i }))
      await insert(calls)
      const ids: string[] = []
      for (let i = 0; i < n; i++) {
        const running = await claimOne(calls[i]!.dispatchId, T0 + i)
        expect(await store.completeAttempts([succeed(running, T0 + 1 + i)])).toEqual([true])
        ids.push(running.dispatchId)
      }
      return ids
    }

    it('deletes finished calls changed before the cutoff, oldest first, in batches of at most `limit`', async () => {
      const ids = await finished(5)
      const cancelled = newCall()
      await insert([cancelled])
      await store.cancelCall(cancelled.dispatchId, T0 + 3)
      expect(await store.purgeFinishedCalls(T0 + 1, 10)).toBe(0) // nothing changed before T0+1
      expect(await store.purgeFinishedCalls(T0 + 1.5, 10)).toBe(1) // a fractional instant (a retention of 1.5 ms)
      expect(await store.purgeFinishedCalls(T0 + 4, 1)).toBe(1)
      expect(await exists(ids)).toEqual(new Set(ids.slice(2)))
      // The cancelled call (T0+3) and the third (T0+3) go next; the two newest stay.
      expect(await store.purgeFinishedCalls(T0 + 4, 10)).toBe(2)
      expect(await exists([...ids, cancelled.dispatchId])).toEqual(new Set(ids.slice(3)))
      expect(await store.purgeFinishedCalls(T0 + 4, 10)).toBe(0)
      expect(await store.purgeFinishedCalls(T0 + DAY, 10)).toBe(2)
      expect(await store.countCalls()).toEqual([])
    })

    it('never deletes a pending, running or suspended call, however old', async () => {
      const [pending, running, suspended] = [newCall(), newCall({ dueAt: T0 - 1 }), newCall({ dueAt: T0 - 2 })]
      await insert([pending, running, suspended])
      const claimed = await store.claimCalls({ now: T0 - 1, limit: 2, owner: OWNER, leaseMs: LEASE })
      const toSuspend = claimed.find((c) => c.dispatchId === suspended.dispatchId)!
      expect(await store.completeAttempts([suspend(toSuspend, T0, [])])).toEqual([true])
      expect(await store.purgeFinishedCalls(T0 + 10 * DAY, 100)).toBe(0)
      const states = (await store.getCalls([pending.dispatchId, running.dispatchId, suspended.dispatchId]))
        .map((c) => c.state)
        .sort()
      expect(states).toEqual(['pending', 'running', 'suspended'])
    })

    it('keeps a coroutine tree while its root is live, then deletes all of it once the root has finished', async () => {
      // root polls child A; A polls grandchild G; G succeeds, A succeeds: A and G are finished, the root is not.
      const root = newCall({ function: 'root' })
      await insert([root])
      const runningRoot = await claimOne(root.dispatchId, T0)
      const a = childOf(runningRoot)
      expect(await store.completeAttempts([suspend(runningRoot, T0 + 1, [a])])).toEqual([true])
      const runningA = await claimOne(a.dispatchId, T0 + 2)
      const g = childOf(runningA)
      expect(await store.completeAttempts([suspend(runningA, T0 + 3, [g])])).toEqual([true])
      const runningG = await claimOne(g.dispatchId, T0 + 4)
      expect(await store.completeAttempts([succeed(runningG, T0 + 5)])).toEqual([true])
      const resumedA = await claimOne(a.dispatchId, T0 + 6)
      expect(await store.completeAttempts([succeed(resumedA, T0 + 7)])).toEqual([true])
      const ids = [root.dispatchId, a.dispatchId, g.dispatchId]
      expect((await store.getCall(root.dispatchId))?.resultsWaiting).toBe(1)

      expect(await store.purgeFinishedCalls(T0 + DAY, 100)).toBe(0)
      expect(await exists(ids)).toEqual(new Set(ids))

      // The root resumes with A's result and finishes: the whole tree may go.
      const resumedRoot = await claimOne(root.dispatchId, T0 + 8)
      expect(resumedRoot.results).toHaveLength(1)
      expect(await store.completeAttempts([succeed(resumedRoot, T0 + 9)])).toEqual([true])
      expect(await store.purgeFinishedCalls(T0 + DAY, 100)).toBe(3)
      expect(await exists(ids)).toEqual(new Set())
    })

    it("keeps a finished child of a live parent, even when the child's root has finished", async () => {
      // The root polls P (resuming at T0+100 at the latest); P polls C and D; C succeeds.
      const root = newCall({ function: 'root' })
      await insert([root])
      const runningRoot = await claimOne(root.dispatchId, T0)
      const p = childOf(runningRoot)
      expect(await store.completeAttempts([suspend(runningRoot, T0 + 1, [p], T0 + 100)])).toEqual([true])
      const runningP = await claimOne(p.dispatchId, T0 + 2)
      const [c, d] = [childOf(runningP), childOf(runningP, 1)]
      expect(await store.completeAttempts([suspend(runningP, T0 + 3, [c, d])])).toEqual([true])
      const grandchildren = new Map((await claimAll(T0 + 4)).map((x) => [x.dispatchId, x]))
      expect(await store.completeAttempts([succeed(grandchildren.get(c.dispatchId)!, T0 + 5)])).toEqual([true])
      // The root resumes at its deadline and fails; P (resumed with C's result) and D run on.
      const claimed = new Map((await claimAll(T0 + 100)).map((x) => [x.dispatchId, x]))
      const resumedRoot = claimed.get(root.dispatchId)!
      const failed: Completion = {
        ...base(resumedRoot, T0 + 101),
        kind: 'failed',
        status: 'STATUS_PERMANENT_ERROR',
        output: undefined,
        error: { type: 'Boom', message: 'no' },
      }
      expect(await store.completeAttempts([failed])).toEqual([true])
      expect((await store.getCalls([p.dispatchId, d.dispatchId])).map((x) => x.state)).toEqual(['running', 'running'])

      // Only the root may go: C's parent P is live, and P and D are live themselves.
      expect(await store.purgeFinishedCalls(T0 + DAY, 100)).toBe(1)
      const kept = [p.dispatchId, c.dispatchId, d.dispatchId]
      expect(await exists([root.dispatchId, ...kept])).toEqual(new Set(kept))

      // D finishes, then P: the rest of the tree goes.
      expect(await store.completeAttempts([succeed(grandchildren.get(d.dispatchId)!, T0 + 102)])).toEqual([true])
      expect(await store.completeAttempts([succeed(claimed.get(p.dispatchId)!, T0 + 103)])).toEqual([true])
      expect(await store.purgeFinishedCalls(T0 + DAY, 100)).toBe(3)
      expect(await exists(kept)).toEqual(new Set())
    })

    it('deletes finished calls only, and nothing with a limit of 0', async () => {
      const ids = await finished(3)
      const live = newCall({ dueAt: T0 + DAY })
      await insert([live])
      expect(await store.purgeFinishedCalls(T0 + DAY, 100)).toBe(3)
      expect(await exists([...ids, live.dispatchId])).toEqual(new Set([live.dispatchId]))
      expect(await store.purgeFinishedCalls(T0 + DAY, 0)).toBe(0)
    })
  })
}
