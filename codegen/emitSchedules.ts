import { toFlowOptions } from 'dispatch-functions/internal'
import type { FunctionModel } from './model/model.js'

/** The schedules file `dispatch gen` writes beside the route table when a function declares `@schedule`. */
export const SCHEDULES_FILE = 'schedules.gen.json'

/** The marker of a generated schedules file (JSON has no comment for the banner). */
export const SCHEDULES_MARKER = 'dispatch gen: the @schedule tags of this package; do not edit'

/**
 * The `@schedule` tags of the functions as the scheduler's `schedules` option takes them (without
 * an endpoint: `dispatch run` gives its app's), each with the function's other flow options
 * (`@priority`, `@concurrency`, `@rateLimit`) as its calls carry them, for `dispatch run` and
 * `dispatch scheduler --schedules`; undefined when no function declares one. Sorted by name, as the
 * functions are.
 */
export function emitSchedules(functions: readonly FunctionModel[]): string | undefined {
  const schedules = functions.flatMap((fn) => {
    const schedule = fn.flow?.schedule
    if (schedule === undefined) return []
    // The function's other flow options, keys read from the fixed input, as a dispatched call carries them.
    const { schedule: _, ...declared } = fn.flow!
    const flow = toFlowOptions(fn.name, declared, schedule.input ?? [])
    return [
      {
        name: fn.name,
        function: fn.name,
        cron: schedule.cron,
        ...(schedule.timezone === undefined ? {} : { timezone: schedule.timezone }),
        missed: schedule.missed === undefined ? 'skip' : `catchup:${schedule.catchUp}`,
        ...(schedule.input === undefined ? {} : { input: schedule.input }),
        ...(flow === undefined ? {} : { flow }),
      },
    ]
  })
  if (schedules.length === 0) return undefined
  return `${JSON.stringify({ '@generated': SCHEDULES_MARKER, schedules }, null, 2)}\n`
}
