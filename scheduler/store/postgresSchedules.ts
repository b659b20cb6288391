import { insertStatement, type Notify } from './postgresInsert.js'
import { type PostgresPool, runOn } from './postgresPool.js'
import { type ScheduleRow, toStoredSchedule } from './scheduleRow.js'
import { storableCall } from './storableValues.js'
import type { ScheduleFiring, ScheduleSync, StoredSchedule } from './store.js'

/**
 * The schedules of the PostgreSQL store (docs/flow-control.md, "Schedules"), shared by every node.
 * A tick fires by a compare-and-set on `next_tick_at` in the transaction that inserts its calls: two
 * nodes firing the same tick at once both update the row, the second waits for the first's commit,
 * then finds `next_tick_at` moved on and changes nothing.
 */
export class PostgresSchedules {
  constructor(
    private readonly pool: PostgresPool,
    private readonly s: string,
    private readonly notify: Notify,
  ) {}

  async sync(schedules: readonly ScheduleSync[], now: number): Promise<void> {
    if (schedules.length === 0) return
    // Names sorted: two nodes syncing the same schedules lock their rows in the same order.
    const sorted = [...schedules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    await this.pool.query(
      `INSERT INTO ${this.s}.schedules AS t (name, function, endpoint, cron, timezone, input, missed, catch_up,
         next_tick_at, updated_at)
       SELECT *, $10::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::int[], $9::bigint[])
       ON CONFLICT (name) DO UPDATE SET function = EXCLUDED.function, endpoint = EXCLUDED.endpoint,
         input = EXCLUDED.input, missed = EXCLUDED.missed, catch_up = EXCLUDED.catch_up,
         next_tick_at = CASE WHEN (t.cron = EXCLUDED.cron AND t.timezone = EXCLUDED.timezone) OR t.paused
           THEN t.next_tick_at ELSE EXCLUDED.next_tick_at END,
         cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, updated_at = EXCLUDED.updated_at
       WHERE (t.function, t.endpoint, t.input, t.missed, t.catch_up, t.cron, t.timezone)
         IS DISTINCT FROM (EXCLUDED.function, EXCLUDED.endpoint, EXCLUDED.input, EXCLUDED.missed,
           EXCLUDED.catch_up, EXCLUDED.cron, EXCLUDED.timezone)`,
      [
        sorted.map((x) => x.name),
        sorted.map((x) => x.function),
        sorted.map((x) => x.endpoint),
        sorted.map((x) => x.cron),
        sorted.map((x) => x.timezone),
        sorted.map((x) => JSON.stringify(x.input)),
        sorted.map((x) => x.missed),
        sorted.map((x) => x.catchUp),
        sorted.map((x) => x.nextTickAt),
        now,
      ],
    )
  }

  async list(): Promise<StoredSchedule[]> {
    const { rows } = await this.pool.read<ScheduleRow>(`SELECT * FROM ${this.s}.schedules ORDER BY name`)
    return rows.map(toStoredSchedule)
  }

  fire(tick: ScheduleFiring, now: number): Promise<boolean> {
    const calls = tick.calls.map(storableCall)
    return this.pool.transaction(async (client) => {
      const advanced = await client.query(
        `UPDATE ${this.s}.schedules SET next_tick_at = $3, last_tick_at = COALESCE($4, last_tick_at), updated_at = $5
         WHERE name = $1 AND next_tick_at = $2 AND NOT paused`,
        [tick.name, tick.expected, tick.nextTickAt ?? null, tick.lastTickAt ?? null, now],
      )
      if (advanced.rowCount !== 1) return false
      if (calls.length > 0) {
        const insert = insertStatement(this.s, calls, this.notify)
        await runOn(client, insert)
      }
      return true
    })
  }

  async setPaused(
    name: string,
    paused: boolean,
    nextTickAt: number | undefined,
    now: number,
  ): Promise<StoredSchedule | undefined> {
    const { rows } = await this.pool.query<ScheduleRow>(
      `UPDATE ${this.s}.schedules SET paused = $2, next_tick_at = $3, updated_at = $4 WHERE name = $1 RETURNING *`,
      [name, paused, nextTickAt ?? null, now],
    )
    return rows[0] === undefined ? undefined : toStoredSchedule(rows[0])
  }
}
