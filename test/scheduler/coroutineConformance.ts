import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Completion, NewCall, Store, StoredCall, StoredPoll } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { newCall, T0 } from './newCall.js'

const LEASE = 30_000
const OWNER = 'node-a'
const v = (value: unknown) => ({ '@type': VALUE_TYPE_URL, value })

const call = (overrides: Partial<NewCall> = {}): NewCall =>
  newCall({ function: 'parent', input: v(['start']), ...overrides })

const poll = (overrides: Partial<StoredPoll> = {}): StoredPoll => ({
  state: { coroutineState: 'c3RhdGU=' },
  minResults: 1,
  maxResults: 1000,
  deadline: undefined,
  error: undefined,
  ...overrides,
})

/**
 * Durable coroutines at the store level: run by {@link storeConformance} on every store, so
 * SQLite and PostgreSQL apply Polls, child results, epochs and cascades the same way.
 */
export function coroutineConformance(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`Store conformance, coroutines: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    const insert = (calls: NewCall[], now = T0) => store.insertCalls(calls, { now, idempotencyWindowMs: 60_000 })
    const claimAll = (now: number, owner = OWNER) => store.claimCalls({ now, limit: 100, owner, leaseMs: LEASE })
    const claimOne = async (id: string, now: number): Promise<StoredCall> => {
      const claimed = await claimAll(now)
      const found = claimed.find((c) => c.dispatchId === id)
      if (found === undefined) throw new Error(`${id} was not claimable at T0+${now - T0}`)
      return found
    }
    const get = async (id: string) => (await store.getCall(id))!
    const base = (c: StoredCall, now: number) => ({ dispatchId: c.dispatchId, attempt: c.attempts, owner: OWNER, now })
    const children = (parent: StoredCall, n: number, overrides: Partial<NewCall> = {}) =>
      Array.from({ length: n }, (_, i) =>
        call({
          function: 'child',
          input: v([i]),
          correlationId: String(i + 1),
          createdAt: T0,
          dueAt: T0,
          parentDispatchId: parent.dispatchId,
          rootDispatchId: parent.rootDispatchId ?? parent.dispatchId,
          ...overrides,
        }),
      )
    const suspend = (
      c: StoredCall,
      now: number,
      kids: NewCall[] = [],
      p: Partial<StoredPoll> = {},
      consumed = c.results.map((r) => r.seq),
    ): Completion => ({ ...base(c, now), kind: 'poll', status: 'STATUS_OK', poll: poll(p), children: kids, consumed })
    const succeed = (c: StoredCall, now: number, value: unknown): Completion => ({
      ...base(c, now),
      kind: 'succeeded',
      status: 'STATUS_OK',
      output: v(value),
      error: undefined,
    })
    const fail = (c: StoredCall, now: number, message: string): Completion => ({
      ...base(c, now),
      kind: 'failed',
      status: 'STATUS_PERMANENT_ERROR',
      output: undefined,
      error: { type: 'Boom', message },
    })

    /** A parent claimed at T0 that polled `n` children at T0+1; returns it (suspended) and the claimed children. */
    async function fanOut(n: number, p: Partial<StoredPoll> = {}, parentOverrides: Partial<NewCall> = {}) {
      const parent = call(parentOverrides)
      await insert([parent])
      const running = await claimOne(parent.dispatchId, T0)
      const kids = children(running, n)
      expect(await store.completeAttempts([suspend(running, T0 + 1, kids, p)])).toEqual([true])
      const claimed = await claimAll(T0 + 2)
      const byId = new Map(claimed.map((c) => [c.dispatchId, c]))
      return { parent: await get(parent.dispatchId), kids: kids.map((k) => byId.get(k.dispatchId)!) }
    }

    it('records a Poll atomically: state verbatim, bounds, children, suspended with a fresh budget', async () => {
      const parent = call({ fairnessKey: 't1', expiresAt: T0 + 60_000, expirationMs: 60_000 })
      await insert([parent])
      const running = await claimOne(parent.dispatchId, T0)
      const kids = children(running, 3, { fairnessKey: 't1' })
      // A stale Poll (wrong attempt) stores nothing, not even its children.
      const stale = { ...suspend(running, T0 + 1, kids), attempt: 7 }
      expect(await store.completeAttempts([stale])).toEqual([false])
      expect(await store.getCalls(kids.map((k) => k.dispatchId))).toEqual([])
      expect(
        await store.completeAttempts([suspend(running, T0 + 1, kids, { minResults: 2, deadline: T0 + 10_000 })]),
      ).toEqual([true])
      expect(await get(parent.dispatchId)).toMatchObject({
        state: 'suspended',
        attempts: 0,
        dueAt: T0 + 10_000,
        leaseOwner: undefined,
        resultsWaiting: 0,
        epoch: 0,
        restarts: 0,
        poll: { state: { coroutineState: 'c3RhdGU=' }, minResults: 2, maxResults: 1000, deadline: T0 + 10_000 },
      })
      const stored = await store.getCalls(kids.map((k) => k.dispatchId))
      expect(stored).toHaveLength(3)
      const listed = await store.listCalls({ limit: 10, parentDispatchId: parent.dispatchId })
      expect(listed.calls.map((c) => c.dispatchId).sort()).toEqual(kids.map((k) => k.dispatchId).sort())
      for (const child of stored) {
        expect(child).toMatchObject({
          state: 'pending',
          parentDispatchId: parent.dispatchId,
          rootDispatchId: parent.dispatchId,
          fairnessKey: 't1',
          poll: undefined,
        })
      }
      // Only the children are due; the parent waits for results or its deadline.
      const claimed = await claimAll(T0 + 2)
      expect(claimed.map((c) => c.dispatchId).sort()).toEqual(kids.map((k) => k.dispatchId).sort())
    })

    it('keeps a typed state verbatim, and a Poll without state', async () => {
      const typed = { '@type': 'type.googleapis.com/my.Journal', entries: [1, 'two', { three: null }] }
      const a = call()
      const b = call()
      await insert([a, b])
      const claimed = await claimAll(T0)
      const [ra, rb] = [a, b].map((c) => claimed.find((x) => x.dispatchId === c.dispatchId)!)
      await store.completeAttempts([
        suspend(ra!, T0 + 1, [], { state: { typedCoroutineState: typed }, deadline: T0 + 5 }),
        suspend(rb!, T0 + 1, [], { state: {}, deadline: T0 + 5 }),
      ])
      const resumed = await claimAll(T0 + 5)
      expect(resumed.find((c) => c.dispatchId === a.dispatchId)?.poll?.state).toEqual({ typedCoroutineState: typed })
      expect(resumed.find((c) => c.dispatchId === b.dispatchId)?.poll?.state).toEqual({})
    })

    it('records child results in arrival order and resumes the parent when minResults are in', async () => {
      const { parent, kids } = await fanOut(3, { minResults: 2, deadline: T0 + 10_000 })
      expect(await store.completeAttempts([succeed(kids[1]!, T0 + 10, { n: 1 })])).toEqual([true])
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'suspended', resultsWaiting: 1, dueAt: T0 + 10_000 })
      expect(await claimAll(T0 + 11)).toEqual([])
      await store.completeAttempts([fail(kids[0]!, T0 + 20, 'no')])
      expect(await get(parent.dispatchId)).toMatchObject({ resultsWaiting: 2, dueAt: T0 + 20 })
      const resumed = await claimOne(parent.dispatchId, T0 + 20)
      expect(resumed.attempts).toBe(1)
      expect(resumed.results.map((r) => r.result)).toEqual([
        { correlationId: '2', dispatchId: kids[1]!.dispatchId, output: v({ n: 1 }) },
        { correlationId: '1', dispatchId: kids[0]!.dispatchId, error: { type: 'Boom', message: 'no' } },
      ])
      expect(resumed.results[0]!.seq).toBeLessThan(resumed.results[1]!.seq)
    })

    it('names the queues of the given coroutines that their results made due, without reading their state', async () => {
      const { parent, kids } = await fanOut(2, { minResults: 2, deadline: T0 + 10_000 })
      const other = call({ function: 'other' })
      await insert([other])
      const ids = [parent.dispatchId, other.dispatchId, kids[0]!.dispatchId, 'no-such-id']
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 1)])
      expect(await store.dueQueuesOf(ids, T0 + 10)).toEqual([]) // one result of two: not due
      await store.completeAttempts([succeed(kids[1]!, T0 + 20, 2)])
      expect(await store.dueQueuesOf(ids, T0 + 19)).toEqual([])
      expect(await store.dueQueuesOf(ids, T0 + 20)).toEqual([
        { endpoint: parent.endpoint, function: 'parent', fairnessKey: undefined },
      ])
      expect(await store.dueQueuesOf([], T0 + 20)).toEqual([])
    })

    it('hands at most maxResults per turn; a retried turn gets the same ones; a Poll consumes them', async () => {
      const { parent, kids } = await fanOut(3, { minResults: 1, maxResults: 2 })
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 0)])
      await store.completeAttempts([succeed(kids[1]!, T0 + 11, 1)])
      await store.completeAttempts([succeed(kids[2]!, T0 + 12, 2)])
      const first = await claimOne(parent.dispatchId, T0 + 20)
      expect(first.results.map((r) => r.result.output)).toEqual([v(0), v(1)])
      // The turn fails and is retried: nothing consumed.
      await store.completeAttempts([
        { ...base(first, T0 + 21), kind: 'retry', status: 'STATUS_TEMPORARY_ERROR', dueAt: T0 + 30, error: undefined },
      ])
      expect(await get(parent.dispatchId)).toMatchObject({
        state: 'pending',
        resultsWaiting: 3,
        poll: { maxResults: 2 },
      })
      const again = await claimOne(parent.dispatchId, T0 + 30)
      expect(again.results.map((r) => r.result.output)).toEqual([v(0), v(1)])
      expect(again.attempts).toBe(2)
      // Its Poll consumes the two it was given; the third is waiting, so it is due at once.
      await store.completeAttempts([suspend(again, T0 + 31, [], { maxResults: 2 })])
      expect(await get(parent.dispatchId)).toMatchObject({
        state: 'suspended',
        resultsWaiting: 1,
        dueAt: T0 + 31,
        attempts: 0,
      })
      const last = await claimOne(parent.dispatchId, T0 + 31)
      expect(last.results.map((r) => r.result.output)).toEqual([v(2)])
      await store.completeAttempts([succeed(last, T0 + 32, 'done')])
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'succeeded', resultsWaiting: 0, poll: undefined })
    })

    it('delivers a turn whose lease expired, or was released, again with the same state and results', async () => {
      const { parent, kids } = await fanOut(2, { minResults: 1 })
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 0)])
      const lost = await claimOne(parent.dispatchId, T0 + 10)
      expect(lost.results.map((r) => r.result.output)).toEqual([v(0)])
      await store.completeAttempts([succeed(kids[1]!, T0 + 11, 1)])
      // The node holding the turn died: another takes it over when the lease expires.
      const [taken] = await store.claimCalls({ now: T0 + 10 + LEASE, limit: 10, owner: 'node-b', leaseMs: LEASE })
      expect(taken).toMatchObject({ dispatchId: parent.dispatchId, poll: { state: { coroutineState: 'c3RhdGU=' } } })
      expect(taken!.results.map((r) => r.result.output)).toEqual([v(0), v(1)])
      // The first node's late outcome is stale and consumes nothing.
      expect(await store.completeAttempts([suspend(lost, T0 + 10 + LEASE, [], { minResults: 1 })])).toEqual([false])
      await store.releaseLeases(T0 + 10 + LEASE + 1)
      const again = await claimOne(parent.dispatchId, T0 + 10 + LEASE + 1)
      expect(again.results.map((r) => r.result.output)).toEqual([v(0), v(1)])
    })

    it('counts results that arrived while the turn ran when its Poll is recorded', async () => {
      const { parent, kids } = await fanOut(2, { minResults: 2, deadline: T0 + 10_000 })
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 0)])
      // The parent is resumed by its deadline; meanwhile the second child finishes.
      const turn = await claimOne(parent.dispatchId, T0 + 10_000)
      expect(turn.results).toHaveLength(1)
      await store.completeAttempts([succeed(kids[1]!, T0 + 10_001, 1)])
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'running', resultsWaiting: 2 })
      await store.completeAttempts([suspend(turn, T0 + 10_002, [], { minResults: 1 })])
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'suspended', resultsWaiting: 1, dueAt: T0 + 10_002 })
      expect((await claimOne(parent.dispatchId, T0 + 10_002)).results.map((r) => r.result.output)).toEqual([v(1)])
    })

    it('applies a parent’s Poll and its child’s outcome given in one batch', async () => {
      const { parent, kids } = await fanOut(2, { minResults: 1 })
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 0)])
      const turn = await claimOne(parent.dispatchId, T0 + 10)
      const applied = await store.completeAttempts([
        suspend(turn, T0 + 11, [], { minResults: 1 }),
        succeed(kids[1]!, T0 + 11, 1),
      ])
      expect(applied).toEqual([true, true])
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'suspended', resultsWaiting: 1, dueAt: T0 + 11 })
      expect((await claimOne(parent.dispatchId, T0 + 11)).results.map((r) => r.result.output)).toEqual([v(1)])
    })

    it('resumes at the deadline with no results (a durable sleep); no deadline and no expiration: never', async () => {
      const sleeper = call()
      const waiter = call()
      await insert([sleeper, waiter])
      const claimed = await claimAll(T0)
      const [a, b] = [sleeper, waiter].map((c) => claimed.find((x) => x.dispatchId === c.dispatchId)!)
      await store.completeAttempts([
        suspend(a!, T0 + 1, [], { deadline: T0 + 5000 }),
        suspend(b!, T0 + 1, [], { deadline: undefined }),
      ])
      expect(await get(waiter.dispatchId)).toMatchObject({ state: 'suspended', dueAt: undefined })
      expect(await store.nextDueAt()).toBe(T0 + 5000)
      expect(await claimAll(T0 + 4999)).toEqual([])
      const woken = await claimAll(T0 + 5000)
      expect(woken.map((c) => c.dispatchId)).toEqual([sleeper.dispatchId])
      expect(woken[0]).toMatchObject({ results: [], poll: { deadline: T0 + 5000 } })
      const much = await claimAll(T0 + 10_000_000) // the sleeper's lease expired: only it comes back
      expect(much.map((c) => c.dispatchId)).toEqual([sleeper.dispatchId])
    })

    it('is due at its expiration when that comes before the deadline; a Poll error makes it due now', async () => {
      const parent = call({ expiresAt: T0 + 3000, expirationMs: 3000 })
      const other = call()
      await insert([parent, other])
      const claimed = await claimAll(T0)
      const [p, o] = [parent, other].map((c) => claimed.find((x) => x.dispatchId === c.dispatchId)!)
      const error = { type: 'InvalidPollCalls', message: 'call 0: bad' }
      await store.completeAttempts([
        suspend(p!, T0 + 1, [], { deadline: T0 + 60_000 }),
        suspend(o!, T0 + 1, [], { deadline: T0 + 60_000, error }),
      ])
      expect(await get(parent.dispatchId)).toMatchObject({ dueAt: T0 + 3000 })
      const resumed = await claimOne(other.dispatchId, T0 + 1)
      expect(resumed.poll?.error).toEqual(error)
    })

    it('drops results for a terminal parent and deletes its waiting ones when it ends', async () => {
      const { parent, kids } = await fanOut(3, { minResults: 1 })
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 0)])
      const turn = await claimOne(parent.dispatchId, T0 + 10)
      await store.completeAttempts([succeed(kids[1]!, T0 + 11, 1)])
      expect(await store.completeAttempts([succeed(turn, T0 + 12, 'first wins')])).toEqual([true])
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'succeeded', resultsWaiting: 0, poll: undefined })
      // The race loser keeps running; its result is dropped.
      expect(await store.completeAttempts([succeed(kids[2]!, T0 + 13, 2)])).toEqual([true])
      expect(await get(kids[2]!.dispatchId)).toMatchObject({ state: 'succeeded' })
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'succeeded', resultsWaiting: 0 })
    })

    it('cancels the unfinished tree below a coroutine that exits, but its detached children and theirs', async () => {
      for (const exit of ['succeeded', 'failed', 'tailCall'] as const) {
        const parent = call()
        await insert([parent])
        const running = await claimOne(parent.dispatchId, T0)
        const kids = children(running, 3)
        kids[2] = { ...kids[2]!, detached: true }
        await store.completeAttempts([suspend(running, T0 + 1, kids, { minResults: 1 })])
        const claimed = new Map((await claimAll(T0 + 2)).map((c) => [c.dispatchId, c]))
        const [k0, k1, k2] = kids.map((k) => claimed.get(k.dispatchId)!)
        const g0 = children(k0!, 1)
        const g2 = children(k2!, 1)
        await store.completeAttempts([suspend(k0!, T0 + 3, g0), suspend(k2!, T0 + 3, g2), succeed(k1!, T0 + 4, 1)])
        const second = new Map((await claimAll(T0 + 5)).map((c) => [c.dispatchId, c]))
        const turn = second.get(parent.dispatchId)!
        const ending: Completion =
          exit === 'succeeded'
            ? succeed(turn, T0 + 6, 'done')
            : exit === 'failed'
              ? fail(turn, T0 + 6, 'gave up')
              : {
                  ...base(turn, T0 + 6),
                  kind: 'tailCall',
                  status: 'STATUS_OK',
                  function: 'next',
                  endpoint: turn.endpoint,
                  input: undefined,
                  version: undefined,
                  expiresAt: undefined,
                  expirationMs: undefined,
                }
        expect(await store.completeAttempts([{ ...ending, coroutine: true }])).toEqual([true])
        const state = async (c: NewCall) => (await get(c.dispatchId)).state
        expect([await state(kids[0]!), await state(g0[0]!), await state(kids[1]!)], exit).toEqual([
          'cancelled',
          'cancelled',
          'succeeded',
        ])
        // The detached child and the tree below it keep going: the grandchild reports to it.
        expect(await state(kids[2]!), exit).toBe('suspended')
        expect(await store.completeAttempts([succeed(second.get(g2[0]!.dispatchId)!, T0 + 7, 'g')])).toEqual([true])
        expect(await get(kids[2]!.dispatchId), exit).toMatchObject({ state: 'suspended', resultsWaiting: 1 })
      }
    })

    it('queues a signal as a result without a child, resuming a suspended coroutine that has enough', async () => {
      const signal = { '@type': 'type.test/Signal', name: 'approval', value: { ok: true } }
      expect(await store.signalCall('nope', signal, T0)).toEqual({ kind: 'notFound' })
      const { parent } = await fanOut(2, { minResults: 1, deadline: T0 + 60_000 })
      expect(await store.signalCall(parent.dispatchId, signal, T0 + 3)).toMatchObject({
        kind: 'changed',
        call: { state: 'suspended', resultsWaiting: 1, dueAt: T0 + 3 },
      })
      const turn = await claimOne(parent.dispatchId, T0 + 3)
      expect(turn.results.map((r) => r.result)).toEqual([{ output: signal }])
      // Consumed by the turn's Poll, like any result.
      await store.completeAttempts([suspend(turn, T0 + 4, [], { minResults: 2 })])
      expect(await get(parent.dispatchId)).toMatchObject({ resultsWaiting: 0 })
      // Not enough for minResults 2: waits, counted.
      await store.signalCall(parent.dispatchId, signal, T0 + 5)
      expect(await get(parent.dispatchId)).toMatchObject({ state: 'suspended', resultsWaiting: 1, dueAt: undefined })
      // A pending call keeps it for its first turn; a finished call refuses it.
      const plain = call()
      await insert([plain])
      expect(await store.signalCall(plain.dispatchId, signal, T0)).toMatchObject({ kind: 'changed' })
      const running = await claimOne(plain.dispatchId, T0)
      expect(running.resultsWaiting).toBe(1)
      await store.completeAttempts([succeed(running, T0 + 1, 'done')])
      expect(await store.signalCall(plain.dispatchId, signal, T0 + 2)).toMatchObject({
        kind: 'refused',
        call: { state: 'succeeded', resultsWaiting: 0 },
      })
    })

    it('restarts a call from its input: state and results cleared, epoch bumped, children cancelled', async () => {
      const { parent, kids } = await fanOut(3, { minResults: 1 })
      // A grandchild under the first child, to check the cascade goes down the tree.
      const child = kids[0]!
      const grandchildren = children(child, 1)
      await store.completeAttempts([suspend(child, T0 + 5, grandchildren)])
      await store.completeAttempts([succeed(kids[1]!, T0 + 10, 1)])
      const turn = await claimOne(parent.dispatchId, T0 + 10)
      const applied = await store.completeAttempts([
        {
          ...base(turn, T0 + 11),
          kind: 'restart',
          status: 'STATUS_INCOMPATIBLE_STATE',
          error: { type: 'IncompatibleState', message: 'diverged' },
        },
      ])
      expect(applied).toEqual([true])
      expect(await get(parent.dispatchId)).toMatchObject({
        state: 'pending',
        dueAt: T0 + 11,
        poll: undefined,
        resultsWaiting: 0,
        epoch: 1,
        restarts: 1,
        attempts: 1,
        status: 'STATUS_INCOMPATIBLE_STATE',
      })
      const tree = await store.getCalls([...kids, ...grandchildren].map((k) => k.dispatchId))
      const stateOf = (id: string) => tree.find((c) => c.dispatchId === id)?.state
      expect(stateOf(kids[0]!.dispatchId)).toBe('cancelled')
      expect(stateOf(kids[1]!.dispatchId)).toBe('succeeded')
      expect(stateOf(kids[2]!.dispatchId)).toBe('cancelled')
      expect(stateOf(grandchildren[0]!.dispatchId)).toBe('cancelled')
      // The next turn starts from the input (no poll); its Poll resets attempts to the restarts so far.
      const fresh = await claimOne(parent.dispatchId, T0 + 11)
      expect(fresh).toMatchObject({ poll: undefined, results: [], attempts: 2 })
      await store.completeAttempts([suspend(fresh, T0 + 12, [], { deadline: T0 + 20 })])
      expect(await get(parent.dispatchId)).toMatchObject({ attempts: 1, epoch: 1 })
    })

    it('drops late results from an earlier epoch (after a tail call)', async () => {
      const { parent, kids } = await fanOut(2, { minResults: 1 })
      await store.completeAttempts([succeed(kids[0]!, T0 + 10, 0)])
      const turn = await claimOne(parent.dispatchId, T0 + 10)
      await store.completeAttempts([
        {
          ...base(turn, T0 + 11),
          kind: 'tailCall',
          status: 'STATUS_OK',
          function: 'next',
          endpoint: turn.endpoint,
          input: v([]),
          version: undefined,
          expiresAt: undefined,
          expirationMs: undefined,
        },
      ])
      expect(await get(parent.dispatchId)).toMatchObject({ poll: undefined, resultsWaiting: 0, epoch: 1 })
      // The child of the old epoch still runs to its end; its result is not the new function's.
      await store.completeAttempts([succeed(kids[1]!, T0 + 12, 1)])
      expect(await get(parent.dispatchId)).toMatchObject({ resultsWaiting: 0 })
      const next = await claimOne(parent.dispatchId, T0 + 12)
      expect(next).toMatchObject({ function: 'next', poll: undefined, results: [] })
      // Its own Poll counts only results of its own epoch.
      await store.completeAttempts([suspend(next, T0 + 13, [], { deadline: T0 + 100 })])
      expect(await get(parent.dispatchId)).toMatchObject({ resultsWaiting: 0, dueAt: T0 + 100 })
    })

    it('cancels a tree; a child cancelled on its own reports Cancelled to its parent', async () => {
      const { parent, kids } = await fanOut(3, { minResults: 1 })
      const grandchildren = children(kids[0]!, 2)
      await store.completeAttempts([suspend(kids[0]!, T0 + 5, grandchildren), succeed(kids[1]!, T0 + 5, 1)])
      const result = await store.cancelCall(parent.dispatchId, T0 + 6)
      expect(result).toMatchObject({ kind: 'changed', call: { state: 'cancelled', poll: undefined } })
      const tree = await store.getCalls([...kids, ...grandchildren].map((k) => k.dispatchId))
      expect(tree.filter((c) => c.state === 'cancelled')).toHaveLength(4)
      expect(tree.filter((c) => c.state === 'succeeded').map((c) => c.dispatchId)).toEqual([kids[1]!.dispatchId])
      expect(await claimAll(T0 + 100_000)).toEqual([])

      const other = await fanOut(2, { minResults: 1, deadline: T0 + 50_000 })
      expect(await store.cancelCall(other.kids[1]!.dispatchId, T0 + 7)).toMatchObject({ kind: 'changed' })
      expect(await get(other.parent.dispatchId)).toMatchObject({ state: 'suspended', resultsWaiting: 1, dueAt: T0 + 7 })
      const resumed = await claimOne(other.parent.dispatchId, T0 + 7)
      expect(resumed.results.map((r) => r.result)).toEqual([
        {
          correlationId: '2',
          dispatchId: other.kids[1]!.dispatchId,
          error: { type: 'Cancelled', message: 'the call was cancelled' },
        },
      ])
      // The cancelled child's running attempt ends stale.
      expect(await store.completeAttempts([succeed(other.kids[1]!, T0 + 8, 'late')])).toEqual([false])
    })

    it('redrives a coroutine from its input in a new epoch; a redriven child no longer reports', async () => {
      const { parent, kids } = await fanOut(2, { minResults: 2 })
      await store.completeAttempts([fail(kids[0]!, T0 + 10, 'first')])
      expect(await get(parent.dispatchId)).toMatchObject({ resultsWaiting: 1 })
      await store.redriveCall(kids[0]!.dispatchId, T0 + 11)
      const again = await claimOne(kids[0]!.dispatchId, T0 + 11)
      await store.completeAttempts([succeed(again, T0 + 12, 'second')])
      expect(await get(parent.dispatchId)).toMatchObject({ resultsWaiting: 1, state: 'suspended' })

      await store.cancelCall(parent.dispatchId, T0 + 13)
      const redriven = await store.redriveCall(parent.dispatchId, T0 + 14)
      expect(redriven).toMatchObject({ kind: 'changed', call: { state: 'pending', poll: undefined, epoch: 1 } })
      expect((await claimOne(parent.dispatchId, T0 + 14)).results).toEqual([])
    })
  })
}
