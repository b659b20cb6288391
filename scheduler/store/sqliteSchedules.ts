import type Database from 'better-sqlite3'
import { type ScheduleRow, toStoredSchedule } from './scheduleRow.js'
import type { ScheduleFiring, ScheduleSync, StoredSchedule } from './store.js'

/**
 * The schedules of the SQLite store (docs/flow-control.md, "Schedules"): statements over the
 * `schedules` table, each run inside a transaction the store opens.
 */
export class SqliteSchedules {
  private readonly upsert: Database.Statement
  private readonly all: Database.Statement
  private readonly advance: Database.Statement
  private readonly pause: Database.Statement

  constructor(db: Database.Database) {
    // A known schedule keeps its next tick and paused state unless its expression or zone changed.
    this.upsert = db.prepare(`
      INSERT INTO schedules (name, function, endpoint, cron, timezone, input, missed, catch_up, next_tick_at, updated_at)
      VALUES (@name, @function, @endpoint, @cron, @timezone, @input, @missed, @catchUp, @nextTickAt, @now)
      ON CONFLICT (name) DO UPDATE SET function = excluded.function, endpoint = excluded.endpoint,
        input = excluded.input, missed = excluded.missed, catch_up = excluded.catch_up,
        next_tick_at = CASE WHEN cron = excluded.cron AND timezone = excluded.timezone OR paused = 1
          THEN next_tick_at ELSE excluded.next_tick_at END,
        cron = excluded.cron, timezone = excluded.timezone, updated_at = excluded.updated_at
      WHERE function IS NOT excluded.function OR endpoint IS NOT excluded.endpoint OR input IS NOT excluded.input
        OR missed IS NOT excluded.missed OR catch_up IS NOT excluded.catch_up OR cron IS NOT excluded.cron
        OR timezone IS NOT excluded.timezone`)
    this.all = db.prepare('SELECT * FROM schedules ORDER BY name')
    this.advance = db.prepare(`
      UPDATE schedules SET next_tick_at = @nextTickAt, last_tick_at = COALESCE(@lastTickAt, last_tick_at), updated_at = @now
      WHERE name = @name AND next_tick_at = @expected AND paused = 0`)
    this.pause = db.prepare(`
      UPDATE schedules SET paused = @paused, next_tick_at = @nextTickAt, updated_at = @now WHERE name = @name
      RETURNING *`)
  }

  sync(schedules: readonly ScheduleSync[], now: number): void {
    for (const schedule of schedules) {
      this.upsert.run({
        name: schedule.name,
        function: schedule.function,
        endpoint: schedule.endpoint,
        cron: schedule.cron,
        timezone: schedule.timezone,
        input: JSON.stringify(schedule.input),
        missed: schedule.missed,
        catchUp: schedule.catchUp,
        nextTickAt: schedule.nextTickAt,
        now,
      })
    }
  }

  list(): StoredSchedule[] {
    return (this.all.all() as ScheduleRow[]).map(toStoredSchedule)
  }

  /** The compare-and-set of a firing: true when the schedule still had `expected` as its next tick. */
  advanceFrom(tick: ScheduleFiring, now: number): boolean {
    const { changes } = this.advance.run({
      name: tick.name,
      expected: tick.expected,
      nextTickAt: tick.nextTickAt ?? null,
      lastTickAt: tick.lastTickAt ?? null,
      now,
    })
    return changes === 1
  }

  setPaused(name: string, paused: boolean, nextTickAt: number | undefined, now: number): StoredSchedule | undefined {
    const row = this.pause.get({ name, paused: paused ? 1 : 0, nextTickAt: nextTickAt ?? null, now }) as
      | ScheduleRow
      | undefined
    return row === undefined ? undefined : toStoredSchedule(row)
  }
}
