import type { ScheduleInfo } from 'dispatch-functions/protocol'
import { terminalSafe } from './formatRestarts.js'

/**
 * The key a schedule gives its calls (`schedule:NAME@TICK`, `schedule:NAME@trigger:ID`), read
 * strictly: an idempotency key is the caller's text, so anything else (control characters, a name
 * no schedule may have) is not said to come from a schedule, and never reaches the terminal.
 */
const TICK_KEY =
  /^schedule:([A-Za-z_][A-Za-z0-9_.:-]{0,127})@(?:trigger:([0-9A-Za-z]+)|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z))$/

/** Which schedule made a call, for `calls get`; undefined when its key is not a schedule's. */
export function formatSchedule(idempotencyKey: string | undefined): string | undefined {
  const match = idempotencyKey === undefined ? null : TICK_KEY.exec(idempotencyKey)
  if (match === null) return undefined
  return match[2] !== undefined ? `${match[1]} (triggered by hand)` : `${match[1]}, tick ${match[3]}`
}

/**
 * One schedule on one line for `dispatch schedules`: name, state, expression and zone, next tick,
 * what it calls. The text is the scheduler's answer, kept as a schedules file gave it (an endpoint
 * URL may hold control characters): each field is made safe for the terminal.
 */
export function scheduleLine(schedule: ScheduleInfo): string {
  const state = schedule.paused ? 'paused' : `next ${schedule.nextTickAt ?? 'never'}`
  const missed = schedule.missed === 'catchup' ? `catchup:${schedule.catchUp}` : 'skip'
  const elsewhere = schedule.declared ? '' : ' (run by another node, or no longer declared)'
  const [name, cron, timezone, fn, endpoint] = [
    schedule.name,
    schedule.cron,
    schedule.timezone,
    schedule.function,
    schedule.endpoint,
  ].map((text) => terminalSafe(String(text)))
  return `${name}  "${cron}" ${timezone}  ${terminalSafe(state)}  missed=${missed}  ${fn} @ ${endpoint}${elsewhere}`
}
