import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { eventually, exited, listAll, type SchedulerChild, spawnScheduler } from '../faults/processes.js'
import { removeFolder, tempFolder } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

// A schedule survives scheduler kills: every tick from the first on has exactly one call (catch-up
// makes up for the ticks of the downtime), whether the process dies before a firing commits, after
// it, or anywhere between ticks; on PostgreSQL, while another node keeps ticking.
const SCRIPT = 'test/scheduler/fixtures/scheduleProcess.ts'
const PREFIX = 'schedule:beat@'

const children: SchedulerChild[] = []
const folders: string[] = []
afterEach(async () => {
  for (const child of children.splice(0)) await exited(child.process, true)
})
afterAll(async () => {
  for (const folder of folders) await removeFolder(folder)
})

/** The ticks that made calls, sorted, and whether each made exactly one. */
async function ticksOf(child: SchedulerChild): Promise<number[]> {
  const calls = await listAll(child.calls)
  return [...calls.values()]
    .map((call) => call.idempotencyKey ?? '')
    .filter((key) => key.startsWith(PREFIX))
    .map((key) => Date.parse(key.slice(PREFIX.length)))
    .sort((a, b) => a - b)
}

/** Waits until the schedule has made calls for `count` more ticks than `after` had. */
function moreTicks(child: SchedulerChild, after: number, count: number): Promise<number[]> {
  return eventually(
    async () => {
      const ticks = await ticksOf(child)
      return ticks.length >= after + count ? ticks : undefined
    },
    20_000,
    `${count} more ticks`,
  )
}

/** Every second from the first tick to the last has exactly one call. */
function expectEveryTickOnce(ticks: readonly number[]): void {
  expect(new Set(ticks).size, 'no tick made two calls').toBe(ticks.length)
  const first = ticks[0]!
  const expected = Array.from({ length: (ticks.at(-1)! - first) / 1000 + 1 }, (_, i) => first + i * 1000)
  expect(ticks, 'no tick was lost').toEqual(expected)
}

/** Starts a process that kills itself at a fault point, and waits until it has (maybe before it served). */
async function crashes(env: Record<string, string>): Promise<void> {
  try {
    const child = await start(env)
    expect(await exited(child.process)).toBe('SIGKILL')
  } catch (error) {
    expect(String(error)).toMatch(/exited \(SIGKILL\) before it served/)
  }
}

async function start(env: Record<string, string>): Promise<SchedulerChild> {
  const child = await spawnScheduler(env['DISPATCH_TEST_DB'] ?? '', env, SCRIPT)
  children.push(child)
  return child
}

describe('schedules across scheduler kills', () => {
  it('SQLite: killed after a firing and before one, no tick is lost nor doubled', async () => {
    const folder = await tempFolder('dispatch-schedule-crash-')
    folders.push(folder)
    const db = { DISPATCH_TEST_DB: join(folder, 'dispatch.db') }
    // Dies right after its first firing committed: the tick's call is kept, and not fired again.
    await crashes({ ...db, DISPATCH_TEST_CRASH_AT: 'schedule-after-fire' })
    // Dies with the missed ticks computed, before they are stored: the next start fires them.
    await crashes({ ...db, DISPATCH_TEST_CRASH_AT: 'schedule-before-fire' })
    const third = await start(db)
    expectEveryTickOnce(await moreTicks(third, 0, 4))
  })

  it('PostgreSQL: two nodes tick one schedule; one killed between ticks and restarted, no tick is lost nor doubled', async () => {
    const schema = `dispatch_test_schedcrash_${randomBytes(4).toString('hex')}`
    const env = { DISPATCH_TEST_DATABASE_URL: POSTGRES_TEST_URL, DISPATCH_TEST_SCHEMA: schema }
    try {
      const a = await start(env)
      const b = await start(env)
      const seen = await moreTicks(a, 0, 3)
      await exited(a.process, true)
      const during = await moreTicks(b, seen.length, 2)
      const again = await start({ ...env, DISPATCH_TEST_CRASH_AT: 'schedule-after-fire' })
      // The restarted node may win the next firing and die after it: the other node goes on.
      expectEveryTickOnce(await moreTicks(b, during.length, 3))
      await exited(again.process, true)
    } finally {
      const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await store.dropSchema()
      await store.close()
    }
  })
})
