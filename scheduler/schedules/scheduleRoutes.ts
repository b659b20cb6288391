import {
  DispatchError,
  ListSchedulesRequest,
  type ListSchedulesResponse,
  SCHEDULE_SERVICE_PATH,
  type ScheduleInfo,
  ScheduleRequest,
  type ScheduleResponse,
  toTimestamp,
} from 'dispatch-functions/protocol'
import type { FastifyInstance } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { ConnectRefusal } from '../calls/connectError.js'
import type { StoredSchedule } from '../store/store.js'
import { parseCron } from './cronExpression.js'
import type { ScheduleStore, ScheduleTicker } from './scheduleTicker.js'

/** What the ScheduleService works with: the store's schedules and this node's ticker. */
export interface ScheduleServiceParts {
  /** Undefined: the store keeps no schedules (every method answers DSP3062). */
  readonly store: ScheduleStore | undefined
  readonly ticker: ScheduleTicker | undefined
  /** The names of the schedules this node runs. */
  readonly declared: ReadonlySet<string>
  readonly now: () => number
}

function parser<T>(schema: TSchema, name: string): (body: unknown) => T {
  const compiled = Compile(schema)
  return (body) => {
    if (compiled.Check(body)) return body as T
    const first = compiled.Errors(body)[0]
    throw new ConnectRefusal(
      'invalid_argument',
      `the request is not a ${name}: ${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`,
    )
  }
}

const parseList = parser<ListSchedulesRequest>(ListSchedulesRequest, 'ListSchedulesRequest')
const parseOne = parser<ScheduleRequest>(ScheduleRequest, 'ScheduleRequest')

/**
 * Registers the ScheduleService on the API (`dispatch schedules list|pause|resume|trigger`), behind
 * the API key like the CallService. Pause and resume change the stored schedule, so they hold for
 * every node sharing the store.
 */
export function registerScheduleRoutes(app: FastifyInstance, parts: ScheduleServiceParts): void {
  const path = (method: string) => `${SCHEDULE_SERVICE_PATH}/${method}`
  const storeOf = (): ScheduleStore => {
    if (parts.store === undefined) {
      throw new ConnectRefusal('failed_precondition', 'DSP3062: the store of this scheduler keeps no schedules')
    }
    return parts.store
  }
  const info = (schedule: StoredSchedule): ScheduleInfo => ({
    name: schedule.name,
    function: schedule.function,
    endpoint: schedule.endpoint,
    cron: schedule.cron,
    timezone: schedule.timezone,
    input: [...schedule.input],
    missed: schedule.missed,
    catchUp: schedule.catchUp,
    paused: schedule.paused,
    ...(schedule.nextTickAt === undefined ? {} : { nextTickAt: toTimestamp(schedule.nextTickAt) }),
    ...(schedule.lastTickAt === undefined ? {} : { lastTickAt: toTimestamp(schedule.lastTickAt) }),
    declared: parts.declared.has(schedule.name),
  })
  const find = async (name: string): Promise<StoredSchedule> => {
    const found = (await storeOf().listSchedules()).find((schedule) => schedule.name === name)
    if (found === undefined) {
      throw new ConnectRefusal(
        'not_found',
        `DSP3061: no schedule is named ${JSON.stringify(name)} (dispatch schedules list shows them)`,
      )
    }
    return found
  }
  const paused = async (name: string, pause: boolean): Promise<ScheduleResponse> => {
    const stored = await find(name)
    // Resuming a running schedule changes nothing (its due tick stays due).
    if (!pause && !stored.paused) return { schedule: info(stored) }
    let next: number | undefined
    if (!pause) {
      // Resumed from now: the ticks of the pause are not caught up.
      const expression = parseCron(stored.cron, stored.timezone)
      next = typeof expression === 'string' ? undefined : expression.nextAfter(parts.now())
    }
    const changed = await storeOf().setSchedulePaused(name, pause, next, parts.now())
    if (changed === undefined) await find(name)
    parts.ticker?.wake()
    return { schedule: info(changed ?? stored) }
  }

  app.post(path('List'), async (request): Promise<ListSchedulesResponse> => {
    parseList(request.body ?? {})
    return { schedules: (await storeOf().listSchedules()).map(info) }
  })
  app.post(path('Pause'), async (request) => paused(parseOne(request.body).name, true))
  app.post(path('Resume'), async (request) => paused(parseOne(request.body).name, false))
  app.post(path('Trigger'), async (request): Promise<ScheduleResponse> => {
    const stored = await find(parseOne(request.body).name)
    if (parts.ticker === undefined) {
      throw new ConnectRefusal('failed_precondition', 'DSP3062: the store of this scheduler keeps no schedules')
    }
    try {
      return { schedule: info(stored), dispatchId: await parts.ticker.trigger(stored) }
    } catch (error) {
      // The stored schedule is not one this scheduler can call (another node's, or one no longer
      // declared, whose endpoint this scheduler refuses): a refusal of the request, not a server fault.
      if (error instanceof DispatchError && error.code === 'DSP3060') {
        throw new ConnectRefusal(
          'failed_precondition',
          `DSP3060: ${error.message}${error.hint ? `; ${error.hint}` : ''}`,
        )
      }
      throw error
    }
  })
}
