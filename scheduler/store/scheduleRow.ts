import type { StoredSchedule } from './store.js'

/** A `schedules` row as both stores read it (PostgreSQL's BIGINT as text, SQLite's as numbers). */
export interface ScheduleRow {
  name: string
  function: string
  endpoint: string
  cron: string
  timezone: string
  input: string
  missed: string
  catch_up: number
  paused: number | boolean
  next_tick_at: number | string | null
  last_tick_at: number | string | null
  updated_at: number | string
}

const time = (value: number | string | null): number | undefined => (value === null ? undefined : Number(value))

/** The stored schedule of a row. */
export function toStoredSchedule(row: ScheduleRow): StoredSchedule {
  return {
    name: row.name,
    function: row.function,
    endpoint: row.endpoint,
    cron: row.cron,
    timezone: row.timezone,
    input: JSON.parse(row.input) as unknown[],
    missed: row.missed === 'catchup' ? 'catchup' : 'skip',
    catchUp: Number(row.catch_up),
    paused: row.paused === true || row.paused === 1,
    nextTickAt: time(row.next_tick_at),
    lastTickAt: time(row.last_tick_at),
    updatedAt: Number(row.updated_at),
  }
}
