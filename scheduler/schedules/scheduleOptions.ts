import type { Routes } from 'dispatch-functions'
import { toFlowOptions } from 'dispatch-functions/internal'
import {
  DEFAULT_SCHEDULE_CATCH_UP,
  dspError,
  FlowOptions,
  FUNCTION_NAME_PATTERN,
  MAX_SCHEDULE_CATCH_UP,
  SCHEDULE_NAME_PATTERN,
} from 'dispatch-functions/protocol'
import { Compile } from 'typebox/compile'
import type { ScheduleDefinition } from '../store/store.js'
import { type CronExpression, parseCron } from './cronExpression.js'

/**
 * A schedule in the scheduler's options (docs/flow-control.md, "Schedules"): the function runs on
 * `cron`, read in `timezone`, one call per tick across every node sharing the store.
 */
export interface ScheduleOptions {
  /** What `dispatch schedules` names it by; default the function's name. Unique. */
  readonly name?: string
  readonly function: string
  /** The endpoint URL that serves the function; default the in-process endpoint (the `routes` option). */
  readonly endpoint?: string
  /** A cron expression: 5 fields (`0 3 * * *`), or 6 with seconds first (`*\/10 * * * * *`). */
  readonly cron: string
  /** The IANA time zone the expression is read in. Default `UTC`. */
  readonly timezone?: string
  /** The arguments of each tick's call. Default none. */
  readonly input?: readonly unknown[]
  /**
   * Ticks missed while no scheduler ran: `skip` (the default) runs none of them — only a tick less
   * than a minute late still runs; `catchup` runs the latest 10 of them, `catchup:N` the latest N
   * (1 to 1000), oldest first.
   */
  readonly missed?: 'skip' | 'catchup' | `catchup:${number}`
  /**
   * The flow options each tick's call carries (`schedules.gen.json` gives the function's declared
   * ones); default: those its in-process route declares, if any.
   */
  readonly flow?: FlowOptions
}

/** A schedule this scheduler runs: its definition, its parsed expression and its calls' flow options. */
export interface ResolvedSchedule {
  readonly definition: ScheduleDefinition
  readonly expression: CronExpression
  /** The function's declared flow options (priority, limits), as each tick's call carries them. */
  readonly flow: FlowOptions | undefined
}

const NAME = new RegExp(SCHEDULE_NAME_PATTERN)
const FUNCTION_NAME = new RegExp(FUNCTION_NAME_PATTERN)
const checkFlow = Compile(FlowOptions)

function invalid(where: string, what: string, hint: string): never {
  throw dspError('DSP3060', `${where}: ${what}`, { hint: `${hint} (docs/flow-control.md, "Schedules")` })
}

/** `skip`, `catchup` or `catchup:N` into a policy and a bound, or what is wrong with it. */
export function parseMissed(text: string): { missed: 'skip' | 'catchup'; catchUp: number } | string {
  if (text === 'skip') return { missed: 'skip', catchUp: 0 }
  const match = /^catchup(?::(\d+))?$/.exec(text)
  if (!match) return `missed=${text} is not skip, catchup or catchup:N`
  const catchUp = match[1] === undefined ? DEFAULT_SCHEDULE_CATCH_UP : Number(match[1])
  if (!(catchUp >= 1 && catchUp <= MAX_SCHEDULE_CATCH_UP))
    return `missed=${text}: N is not a whole number from 1 to ${MAX_SCHEDULE_CATCH_UP}`
  return { missed: 'catchup', catchUp }
}

/**
 * The schedules a scheduler runs: those its in-process `routes` declare (`@schedule`), each replaced
 * by the entry of `schedules` with its name if there is one (a deployment's override), and the other
 * entries of `schedules`. DSP3060 names the first problem.
 */
export function resolveSchedules(
  options: readonly ScheduleOptions[] | undefined,
  routes: Routes | undefined,
  inProcessUrl: string | undefined,
): ResolvedSchedule[] {
  const byName = new Map<string, { where: string; options: ScheduleOptions }>()
  for (const [name, route] of Object.entries(routes ?? {})) {
    const declared = route.flow?.schedule
    if (declared === undefined) continue
    const missed =
      declared.missed === 'catchup' ? (`catchup:${declared.catchUp ?? DEFAULT_SCHEDULE_CATCH_UP}` as const) : 'skip'
    byName.set(name, {
      where: `the @schedule of ${name} (${route.source})`,
      options: {
        name,
        function: name,
        cron: declared.cron,
        ...(declared.timezone === undefined ? {} : { timezone: declared.timezone }),
        ...(declared.input === undefined ? {} : { input: declared.input }),
        missed,
      },
    })
  }
  const given = new Set<string>()
  for (const [index, entry] of (options ?? []).entries()) {
    const where = `the scheduler option schedules[${index}]`
    if (entry === null || typeof entry !== 'object' || typeof entry.function !== 'string' || entry.function === '') {
      invalid(where, 'has no function', 'give each schedule { function, cron }')
    }
    const name = entry.name ?? entry.function
    if (given.has(name)) invalid(where, `is a second schedule named ${JSON.stringify(name)}`, 'give each a `name`')
    given.add(name)
    byName.set(name, { where, options: { ...entry, name } })
  }
  return [...byName.values()].map(({ where, options: entry }) => resolveOne(where, entry, routes, inProcessUrl))
}

function resolveOne(
  where: string,
  entry: ScheduleOptions,
  routes: Routes | undefined,
  inProcessUrl: string | undefined,
): ResolvedSchedule {
  const name = entry.name ?? entry.function
  // Read from a JSON file: a name or endpoint of another type is refused here, not by the store or a URL parser.
  if (typeof name !== 'string' || !NAME.test(name)) {
    invalid(
      where,
      `the name ${JSON.stringify(name)} is not a schedule name`,
      'use letters, digits, `_ . : -`, starting with a letter or `_`, at most 128 characters',
    )
  }
  // What the Dispatch API checks of a call's function: a tick's call is made without it.
  if (!FUNCTION_NAME.test(entry.function)) {
    invalid(
      where,
      `the function ${JSON.stringify(entry.function)} is not a function name`,
      'give the name the function is routed by: letters, digits, `_ . < >`, starting with a letter or `_`',
    )
  }
  const route = routes?.[entry.function]
  if (entry.endpoint !== undefined && typeof entry.endpoint !== 'string') {
    invalid(where, `the endpoint ${JSON.stringify(entry.endpoint)} is not a URL`, 'give `endpoint` as a URL string')
  }
  const endpoint = entry.endpoint ?? (route === undefined ? undefined : inProcessUrl)
  if (endpoint === undefined) {
    invalid(
      where,
      `schedule ${name} has no endpoint (${entry.function} is not one of the in-process routes)`,
      'give the URL of the endpoint that serves the function as `endpoint`',
    )
  }
  if (typeof entry.cron !== 'string') invalid(where, 'has no cron expression', 'give `cron`, e.g. "0 3 * * *"')
  const timezone = entry.timezone ?? 'UTC'
  const expression = parseCron(entry.cron, timezone)
  if (typeof expression === 'string') invalid(where, expression, 'fix `cron` or `timezone`')
  const missed = parseMissed(entry.missed ?? 'skip')
  if (typeof missed === 'string') invalid(where, missed, 'give `missed` as skip, catchup or catchup:N')
  const input = entry.input ?? []
  if (!Array.isArray(input)) invalid(where, '`input` is not an array', 'give the arguments as an array: [{ ... }]')
  let text: string
  try {
    text = JSON.stringify(input)
  } catch (cause) {
    invalid(where, `\`input\` is not JSON: ${(cause as Error).message}`, 'give the arguments as JSON values')
  }
  if (entry.flow !== undefined && !checkFlow.Check(entry.flow)) {
    const first = checkFlow.Errors(entry.flow)[0]
    invalid(
      where,
      `flow${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`,
      'give the flow options of docs/protocol.md §5',
    )
  }
  const flow = entry.flow ?? (route === undefined ? undefined : toFlowOptions(entry.function, route.flow, input))
  return {
    definition: {
      name,
      function: entry.function,
      endpoint,
      cron: entry.cron,
      timezone,
      input: JSON.parse(text) as unknown[],
      ...missed,
    },
    expression,
    flow,
  }
}
