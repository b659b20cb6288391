import { Cron } from 'croner'
import { DEFAULT_SCHEDULE_CATCH_UP, MAX_SCHEDULE_CATCH_UP } from 'dispatch-functions/protocol'
import type { ScheduleModel } from '../model/model.js'

/** The syntax of `@schedule`, for messages. */
export const SCHEDULE_SYNTAX =
  '`@schedule "0 3 * * *" tz=Europe/Paris missed=skip|catchup[:N] input=[...]` (a quoted cron expression; the options optional, `input=` last)'

/**
 * `@schedule "cron" tz=Zone missed=catchup:5 input=[...]` into its model, or what is wrong with it
 * (docs/flow-control.md, "Schedules"). The expression and the time zone are checked as the scheduler
 * reads them (croner, IANA names), so a schedule that generates is one the scheduler runs.
 * `required`: how many leading parameters a call must give.
 */
export function readScheduleTag(
  value: string,
  required: number,
): ScheduleModel | { problem: string; code?: 'DSP1032' } {
  const quoted = /^"([^"]*)"(.*)$/.exec(value)
  if (!quoted)
    return { problem: value === '' ? 'needs a cron expression' : 'needs its cron expression in double quotes' }
  const cron = quoted[1]!.trim()
  const options: Record<string, string> = {}
  let rest = quoted[2]!.trim()
  while (rest !== '') {
    const match = /^([A-Za-z]+)=/.exec(rest)
    const name = match?.[1]
    if (name === undefined || !['tz', 'missed', 'input'].includes(name)) {
      return {
        problem: `has ${JSON.stringify(rest.split(/\s+/)[0])} where tz=..., missed=... or input=... is expected`,
      }
    }
    if (name in options) return { problem: `has ${name}= twice` }
    // The input is JSON, spaces allowed: it takes the rest of the line.
    const end = name === 'input' ? rest.length : rest.search(/\s|$/)
    options[name] = rest.slice(name.length + 1, end).trim()
    rest = rest.slice(end).trim()
  }
  const timezone = options['tz']
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone })
    } catch {
      return { problem: `tz=${timezone} is not an IANA time zone (Europe/Paris, America/New_York, UTC)` }
    }
  }
  try {
    const parsed = new Cron(cron, { paused: true, ...(timezone === undefined ? {} : { timezone }) })
    if (parsed.nextRun() === null) return { problem: `"${cron}" never fires (no such date)` }
  } catch (error) {
    return { problem: `"${cron}" is not a cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}` }
  }
  const schedule: { -readonly [K in keyof ScheduleModel]: ScheduleModel[K] } = { cron }
  if (timezone !== undefined) schedule.timezone = timezone
  const missed = options['missed']
  if (missed !== undefined && missed !== 'skip') {
    const match = /^catchup(?::(\d+))?$/.exec(missed)
    const catchUp = match === null ? Number.NaN : match[1] === undefined ? DEFAULT_SCHEDULE_CATCH_UP : Number(match[1])
    if (!(catchUp >= 1 && catchUp <= MAX_SCHEDULE_CATCH_UP)) {
      return { problem: `missed=${missed} is not skip, catchup or catchup:N (N from 1 to ${MAX_SCHEDULE_CATCH_UP})` }
    }
    schedule.missed = 'catchup'
    schedule.catchUp = catchUp
  }
  if (options['input'] !== undefined) {
    let input: unknown
    try {
      input = JSON.parse(options['input'])
    } catch {
      return { problem: `input=${options['input']} is not JSON` }
    }
    if (!Array.isArray(input))
      return { problem: 'input= is not a JSON array of the arguments (`input=[{"days": 30}]`)' }
    schedule.input = input
  }
  const given = schedule.input?.length ?? 0
  if (given < required) {
    return {
      code: 'DSP1032',
      problem:
        given === 0
          ? `runs the function without arguments, and it has ${required} required parameter${required === 1 ? '' : 's'}: give them with input=[...]`
          : `input= gives ${given} argument${given === 1 ? '' : 's'}, and the function has ${required} required parameters`,
    }
  }
  return schedule
}
