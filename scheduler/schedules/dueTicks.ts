import type { StoredSchedule } from '../store/store.js'
import type { CronExpression } from './cronExpression.js'

/** Under `missed: skip`, a tick this late or less still runs: it is due, not missed. */
export const SKIP_GRACE_MS = 60_000

/** What one firing of a due schedule does: the ticks it runs (oldest first) and the next tick after them. */
export interface DueTicks {
  readonly ticks: readonly number[]
  readonly nextTickAt: number | undefined
}

/**
 * The ticks of a schedule whose next tick has come (`nextTickAt <= now`): every tick from it to
 * `now` is due; `catchup` runs the latest `catchUp` of them, `skip` the latest one only when it is
 * less than {@link SKIP_GRACE_MS} late. The rest are dropped. The next tick is the first after `now`.
 *
 * Never a tick at or before the last one fired: a next tick another node computed from a clock
 * behind this one (a resume, a new expression) may be one that already made its call.
 */
export function dueTicks(schedule: StoredSchedule, expression: CronExpression, now: number): DueTicks {
  let first = schedule.nextTickAt
  if (first !== undefined && schedule.lastTickAt !== undefined && first <= schedule.lastTickAt) {
    const unfired = expression.nextAfter(schedule.lastTickAt)
    first = unfired === undefined ? undefined : Math.max(first, unfired)
  }
  if (first === undefined || first > now) return { ticks: [], nextTickAt: first }
  const keep = schedule.missed === 'catchup' ? Math.max(1, schedule.catchUp) : 1
  const ticks = expression.latestBetween(first, now, keep)
  const fired = schedule.missed === 'skip' ? ticks.filter((tick) => now - tick < SKIP_GRACE_MS) : ticks
  return { ticks: fired, nextTickAt: expression.nextAfter(now) }
}
