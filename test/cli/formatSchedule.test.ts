import type { ScheduleInfo } from 'dispatch-functions/protocol'
import { describe, expect, it } from 'vitest'
import { formatSchedule, scheduleLine } from '../../cli/formatSchedule.js'

// What `dispatch calls get` says of a call a schedule made, from its idempotency key (the keys a
// running scheduler gives: test/scheduler/schedules.test.ts).
describe('calls get: schedule', () => {
  it('names the schedule and the tick, or that it was triggered by hand', () => {
    expect(formatSchedule('schedule:cleanup@2026-12-01T02:00:00.000Z')).toBe('cleanup, tick 2026-12-01T02:00:00.000Z')
    expect(formatSchedule('schedule:reports.daily@trigger:01m8q2nkjvfd68nzbxeqfp1r8a')).toBe(
      'reports.daily (triggered by hand)',
    )
    expect(formatSchedule(undefined)).toBeUndefined()
    expect(formatSchedule('order-42')).toBeUndefined()
  })

  it("says nothing of a caller's key that only looks like one: no control characters reach the terminal", () => {
    expect(formatSchedule('schedule:\u001b]0;pwned\u0007@2026-12-01T02:00:00.000Z')).toBeUndefined()
    expect(formatSchedule('schedule:cleanup@\u001b[2J')).toBeUndefined()
    expect(formatSchedule('schedule:cleanup@2026-12-01T02:00:00.000Z\u001b[2J')).toBeUndefined()
  })

  it('dispatch schedules list: one line per schedule, control characters of its text made spaces', () => {
    const schedule: ScheduleInfo = {
      name: 'cleanup',
      function: 'cleanup',
      endpoint: 'http://127.0.0.1:9/\u001b[2J\u001b]0;pwned\u0007',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      input: [],
      missed: 'catchup',
      catchUp: 3,
      paused: false,
      nextTickAt: '2026-12-01T02:00:00.000Z',
      declared: true,
    }
    const line = scheduleLine(schedule)
    expect(line).toBe(
      'cleanup  "0 3 * * *" Europe/Berlin  next 2026-12-01T02:00:00.000Z  missed=catchup:3  cleanup @ http://127.0.0.1:9/ [2J ]0;pwned ',
    )
    expect(scheduleLine({ ...schedule, paused: true, declared: false })).toMatch(
      /^cleanup {2}"0 3 \* \* \*" Europe\/Berlin {2}paused {2}.* \(run by another node, or no longer declared\)$/,
    )
  })
})
