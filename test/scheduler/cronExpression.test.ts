import { describe, expect, it } from 'vitest'
import { type CronExpression, parseCron } from '../../scheduler/schedules/cronExpression.js'
import { dueTicks } from '../../scheduler/schedules/dueTicks.js'
import type { StoredSchedule } from '../../scheduler/store/store.js'

// Cron ticks in a time zone (docs/flow-control.md, "Schedules"): a tick in a daylight-saving gap runs
// once, at the end of the gap; one in the repeated hour once, the first time; a catch-up after a
// long outage is bounded and the same across a change of offset.
const at = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString()

function cron(expression: string, timezone: string): CronExpression {
  const parsed = parseCron(expression, timezone)
  if (typeof parsed === 'string') throw new Error(parsed)
  return parsed
}

function walk(expression: CronExpression, from: string, count: number): string[] {
  const ticks: string[] = []
  let tick = at(from)
  for (let i = 0; i < count; i++) {
    tick = expression.nextAfter(tick)!
    ticks.push(iso(tick))
  }
  return ticks
}

describe('cron ticks across daylight saving time', () => {
  it('runs a daily tick in the repeated hour once, the first time (America/New_York, 2026-11-01)', () => {
    const daily = cron('30 1 * * *', 'America/New_York')
    expect(walk(daily, '2026-10-31T12:00:00Z', 3)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) is not a second tick
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ])
  })

  it('runs a daily tick in the gap once, at the end of the gap (America/New_York, 2026-03-08)', () => {
    const daily = cron('30 2 * * *', 'America/New_York')
    expect(walk(daily, '2026-03-07T12:00:00Z', 3)).toEqual([
      '2026-03-08T07:00:00.000Z', // 02:30 does not exist: 03:00 EDT
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ])
  })

  it('keeps an hourly schedule hourly through the repeated hour: every real hour, none twice', () => {
    const hourly = cron('0 * * * *', 'America/New_York')
    expect(walk(hourly, '2026-11-01T04:30:00Z', 4)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T08:00:00.000Z',
    ])
  })

  it('catches up the same ticks across the change, the latest N of them, oldest first', () => {
    const daily = cron('30 1 * * *', 'America/New_York')
    // An outage from before the change to three days after it: 5 ticks due, catchup:3 runs the latest 3.
    const ticks = daily.latestBetween(at('2026-10-30T05:30:00Z'), at('2026-11-03T06:30:00Z'), 3)
    expect(ticks.map(iso)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z'])
    // At most N, however many came: an every-second schedule down for a day.
    const everySecond = cron('* * * * * *', 'Europe/Berlin')
    const caughtUp = everySecond.latestBetween(at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'), 1000)
    expect(caughtUp).toHaveLength(1000)
    expect(iso(caughtUp.at(-1)!)).toBe('2026-10-25T12:00:00.000Z')
  })
})

describe('due ticks', () => {
  const schedule = (missed: 'skip' | 'catchup', catchUp: number, nextTickAt: string): StoredSchedule => ({
    name: 'cleanup',
    function: 'cleanup',
    endpoint: 'http://127.0.0.1:9/',
    cron: '0 * * * *',
    timezone: 'UTC',
    input: [],
    missed,
    catchUp,
    paused: false,
    nextTickAt: at(nextTickAt),
    lastTickAt: undefined,
    updatedAt: 0,
  })
  const hourly = cron('0 * * * *', 'UTC')

  it('skip: runs a tick less than a minute late, drops older ones; the next tick is the first after now', () => {
    const late = dueTicks(schedule('skip', 0, '2026-12-01T03:00:00Z'), hourly, at('2026-12-01T03:00:59Z'))
    expect(late.ticks.map(iso)).toEqual(['2026-12-01T03:00:00.000Z'])
    const missed = dueTicks(schedule('skip', 0, '2026-12-01T01:00:00Z'), hourly, at('2026-12-01T03:01:00Z'))
    expect(missed).toEqual({ ticks: [], nextTickAt: at('2026-12-01T04:00:00Z') })
  })

  it('catchup:N: the latest N of the ticks due, oldest first', () => {
    const due = dueTicks(schedule('catchup', 2, '2026-12-01T00:00:00Z'), hourly, at('2026-12-01T03:30:00Z'))
    expect(due.ticks.map(iso)).toEqual(['2026-12-01T02:00:00.000Z', '2026-12-01T03:00:00.000Z'])
    expect(due.nextTickAt).toBe(at('2026-12-01T04:00:00Z'))
  })
})
