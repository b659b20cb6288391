import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_CALL_POLICIES } from '../../scheduler/calls/retryPolicy.js'
import { resolveSchedules, type ScheduleOptions } from '../../scheduler/schedules/scheduleOptions.js'
import { type ScheduleStore, ScheduleTicker, tickKey } from '../../scheduler/schedules/scheduleTicker.js'
import type { Store } from '../../scheduler/store/store.js'
import { newCall } from './newCall.js'

const ENDPOINT = 'http://127.0.0.1:9/'
/** A whole minute: every-second ticks fall on whole seconds from here. */
const T = Date.UTC(2026, 0, 1, 12, 0, 0)

/** The schedule methods of a store (every store of this repository has them). */
function scheduleStore(store: Store): ScheduleStore {
  expect(store.syncSchedules, 'the store keeps schedules').toBeDefined()
  return store as ScheduleStore
}

/** A ticker on `store` with a clock the test moves. */
function tickerOn(store: Store, clock: { now: number }, schedules: ScheduleOptions[]): ScheduleTicker {
  return new ScheduleTicker(scheduleStore(store), resolveSchedules(schedules, undefined, undefined), {
    now: () => clock.now,
    policies: DEFAULT_CALL_POLICIES,
    onCalls: () => undefined,
    onError: (error) => {
      throw error
    },
  })
}

/** The ticks of the calls a schedule made, from their idempotency keys, sorted. */
async function ticksOf(store: Store, name: string): Promise<number[]> {
  const page = await store.listCalls({ limit: 1000 })
  return page.calls
    .map((call) => call.idempotencyKey ?? '')
    .filter((key) => key.startsWith(`schedule:${name}@`) && !key.includes('@trigger'))
    .map((key) => Date.parse(key.slice(`schedule:${name}@`.length)))
    .sort((a, b) => a - b)
}

const everySecond = (missed: ScheduleOptions['missed'] = 'catchup:1000'): ScheduleOptions => ({
  name: 'beat',
  function: 'publish',
  endpoint: ENDPOINT,
  cron: '* * * * * *',
  input: ['tick'],
  missed,
})

/**
 * Schedules (docs/flow-control.md, "Schedules") as every {@link Store} keeps them: a schedule's
 * next tick survives a re-sync of the same definition, a firing is a compare-and-set (a tick fires
 * once), missed ticks are caught up (bounded) or skipped, and a paused schedule fires nothing. With
 * `secondNode`, two stores on the same data fire each tick of a schedule once between them.
 */
export function scheduleConformance(
  name: string,
  makeStore: () => Promise<Store> | Store,
  options: { readonly secondNode?: (store: Store) => Promise<Store> } = {},
): void {
  describe(`Store conformance, schedules: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      await store.close()
    })

    it('records a schedule with its first tick; a re-sync keeps the next tick unless the expression changed', async () => {
      const s = scheduleStore(store)
      const base = { name: 'nightly', function: 'publish', endpoint: ENDPOINT, input: [], missed: 'skip' } as const
      await s.syncSchedules(
        [{ ...base, cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 0, nextTickAt: T + 1000 }],
        T,
      )
      await s.syncSchedules(
        [{ ...base, cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 0, nextTickAt: T + 5000 }],
        T,
      )
      expect((await s.listSchedules())[0]).toMatchObject({ cron: '0 3 * * *', nextTickAt: T + 1000, paused: false })
      await s.syncSchedules(
        [{ ...base, cron: '0 4 * * *', timezone: 'Europe/Berlin', catchUp: 0, nextTickAt: T + 9000 }],
        T,
      )
      expect((await s.listSchedules())[0]).toMatchObject({ cron: '0 4 * * *', nextTickAt: T + 9000, input: [] })
      const paused = await s.setSchedulePaused('nightly', true, undefined, T)
      expect(paused).toMatchObject({ paused: true, nextTickAt: undefined })
      await s.syncSchedules([{ ...base, cron: '0 5 * * *', timezone: 'UTC', catchUp: 0, nextTickAt: T + 7000 }], T)
      expect((await s.listSchedules())[0]).toMatchObject({ cron: '0 5 * * *', paused: true, nextTickAt: undefined })
      expect(await s.setSchedulePaused('unknown', true, undefined, T)).toBeUndefined()
    })

    it('fires a tick by compare-and-set: the same tick a second time changes nothing', async () => {
      const s = scheduleStore(store)
      const def = { name: 'once', function: 'publish', endpoint: ENDPOINT, cron: '* * * * * *', timezone: 'UTC' }
      await s.syncSchedules([{ ...def, input: [], missed: 'skip', catchUp: 0, nextTickAt: T }], T)
      const firing = (call = newCall({ idempotencyKey: tickKey('once', T) })) => ({
        name: 'once',
        expected: T,
        nextTickAt: T + 1000,
        lastTickAt: T,
        calls: [call],
      })
      expect(await s.fireSchedule(firing(), T)).toBe(true)
      expect(await s.fireSchedule(firing(), T)).toBe(false)
      expect(await ticksOf(store, 'once')).toEqual([T])
      expect((await s.listSchedules())[0]).toMatchObject({ nextTickAt: T + 1000, lastTickAt: T })
    })

    it('makes one call per tick as the clock moves, with the input, and none while paused', async () => {
      const clock = { now: T + 200 }
      const ticker = tickerOn(store, clock, [everySecond()])
      await ticker.sync()
      for (let i = 0; i < 5; i++) {
        clock.now += 1000
        await ticker.fireDue()
        await ticker.fireDue()
      }
      expect(await ticksOf(store, 'beat')).toEqual([1, 2, 3, 4, 5].map((i) => T + i * 1000))
      const [call] = (await store.listCalls({ limit: 1 })).calls
      expect(call).toMatchObject({ function: 'publish', endpoint: ENDPOINT, input: { value: ['tick'] } })
      await scheduleStore(store).setSchedulePaused('beat', true, undefined, clock.now)
      clock.now += 3000
      await ticker.fireDue()
      expect(await ticksOf(store, 'beat')).toHaveLength(5)
    })

    it('catches up on the latest N missed ticks after downtime, oldest first, and drops the older ones', async () => {
      const clock = { now: T + 200 }
      await tickerOn(store, clock, [everySecond('catchup:3')]).sync()
      clock.now += 30_000
      // A scheduler started after the downtime: the schedule's next tick is still the one before it.
      const ticker = tickerOn(store, clock, [everySecond('catchup:3')])
      await ticker.sync()
      await ticker.fireDue()
      expect(await ticksOf(store, 'beat')).toEqual([28, 29, 30].map((i) => T + i * 1000))
      expect((await scheduleStore(store).listSchedules())[0]?.nextTickAt).toBe(T + 31_000)
    })

    it('skips missed ticks: of the ticks due at once the latest runs, and only when less than a minute late', async () => {
      const clock = { now: T + 200 }
      const ticker = tickerOn(store, clock, [everySecond('skip')])
      await ticker.sync()
      clock.now += 5_000
      await ticker.fireDue()
      // Five ticks were due: the latest runs, the others are dropped.
      expect(await ticksOf(store, 'beat')).toEqual([T + 5000])
      const every5m = { ...everySecond('skip'), name: 'slow', cron: '0 */5 * * * *' }
      const slow = tickerOn(store, clock, [every5m])
      await slow.sync()
      // Its tick at T + 5 min is found 90 s late: missed, dropped; the next one, 5 s late, runs.
      clock.now = T + 390_000
      await slow.fireDue()
      expect(await ticksOf(store, 'slow')).toEqual([])
      expect((await scheduleStore(store).listSchedules()).find((x) => x.name === 'slow')?.nextTickAt).toBe(T + 600_000)
      clock.now = T + 605_000
      await slow.fireDue()
      expect(await ticksOf(store, 'slow')).toEqual([T + 600_000])
    })

    it('never fires a tick twice: a resume or a new expression from a node whose clock is behind', async () => {
      const clock = { now: T + 200 }
      const ticker = tickerOn(store, clock, [everySecond()])
      await ticker.sync()
      clock.now = T + 5200
      await ticker.fireDue()
      expect(await ticksOf(store, 'beat')).toEqual([1, 2, 3, 4, 5].map((i) => T + i * 1000))
      // Another node, its clock 3 s behind, pauses and resumes it: from its next tick after its now.
      const s = scheduleStore(store)
      await s.setSchedulePaused('beat', true, undefined, T + 2200)
      await s.setSchedulePaused('beat', false, T + 3000, T + 2200)
      clock.now = T + 6200
      await ticker.fireDue()
      expect(await ticksOf(store, 'beat')).toEqual([1, 2, 3, 4, 5, 6].map((i) => T + i * 1000))
      // The same node deploys a new expression: its first tick after its now is one already fired.
      const behind = tickerOn(store, { now: T + 3200 }, [{ ...everySecond(), cron: '*/2 * * * * *' }])
      await behind.sync()
      const ahead = tickerOn(store, clock, [{ ...everySecond(), cron: '*/2 * * * * *' }])
      clock.now = T + 8200
      await ahead.fireDue()
      expect(await ticksOf(store, 'beat')).toEqual([1, 2, 3, 4, 5, 6, 8].map((i) => T + i * 1000))
    })

    it('a stored schedule no node runs any more makes no calls', async () => {
      const clock = { now: T + 200 }
      await tickerOn(store, clock, [everySecond()]).sync()
      // The next deployment runs another schedule only: 'beat' stays stored, due, and is not fired.
      const next = tickerOn(store, clock, [{ ...everySecond(), name: 'other' }])
      await next.sync()
      clock.now += 5_000
      await next.fireDue()
      expect(await ticksOf(store, 'beat')).toEqual([])
      expect(await ticksOf(store, 'other')).toEqual([1, 2, 3, 4, 5].map((i) => T + i * 1000))
    })

    it('triggers one call now, outside the ticks, without moving the next tick', async () => {
      const clock = { now: T + 200 }
      const ticker = tickerOn(store, clock, [everySecond()])
      await ticker.sync()
      const [stored] = await scheduleStore(store).listSchedules()
      const id = await ticker.trigger(stored!)
      const again = await ticker.trigger(stored!)
      expect(again).not.toBe(id)
      expect((await store.getCall(id))?.idempotencyKey).toMatch(/^schedule:beat@trigger:/)
      expect((await scheduleStore(store).listSchedules())[0]?.nextTickAt).toBe(T + 1000)
    })

    const { secondNode } = options
    if (secondNode !== undefined) {
      it('two nodes firing the same schedule at once make one call per tick', async () => {
        const other = await secondNode(store)
        try {
          const clock = { now: T + 200 }
          const a = tickerOn(store, clock, [everySecond()])
          const b = tickerOn(other, clock, [everySecond()])
          await Promise.all([a.sync(), b.sync()])
          for (let i = 0; i < 20; i++) {
            clock.now += 1000
            await Promise.all([a.fireDue(), b.fireDue(), a.fireDue(), b.fireDue()])
          }
          expect(await ticksOf(store, 'beat')).toEqual(Array.from({ length: 20 }, (_, i) => T + (i + 1) * 1000))
        } finally {
          await other.close()
        }
      })
    }
  })
}
