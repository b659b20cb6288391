import { dspError } from '../../schemas/errors/dspError.js'
import {
  type ListSchedulesResponse,
  SCHEDULE_SERVICE_PATH,
  type ScheduleResponse,
} from '../../schemas/scheduleService.js'
import { type ClientOptions, ENV_FIX, resolveClientConfig } from './clientConfig.js'
import { postToScheduler } from './dispatchBatch.js'

/** A client of the scheduler's ScheduleService (`dispatch schedules`): list, pause, resume, trigger. */
export interface ScheduleServiceClient {
  list(): Promise<ListSchedulesResponse>
  pause(name: string): Promise<ScheduleResponse>
  resume(name: string): Promise<ScheduleResponse>
  /** One call of the schedule now, outside its ticks: `dispatchId` is the call's. */
  trigger(name: string): Promise<ScheduleResponse>
}

function answerOf<T>(answer: unknown, field: string, method: string): T {
  if (answer === null || typeof answer !== 'object' || !(field in answer)) {
    throw dspError('DSP2004', `the scheduler answered ${method} without ${field}`, {
      hint: `DISPATCH_API_URL must point at a dispatch-functions scheduler of this version or newer: ${ENV_FIX}`,
    })
  }
  return answer as T
}

/**
 * Builds a ScheduleService client; the API URL and key come from the options or from
 * `DISPATCH_API_URL` / `DISPATCH_API_KEY`.
 *
 * @example
 * ```ts
 * const { schedules } = await createScheduleServiceClient().list()
 * ```
 */
export function createScheduleServiceClient(
  options: Pick<ClientOptions, 'apiUrl' | 'apiKey'> = {},
): ScheduleServiceClient {
  const post = (method: string, body: unknown) => {
    const { apiUrl, apiKey } = resolveClientConfig({ endpoint: 'unused', ...options })
    return postToScheduler(apiUrl, apiKey, `${SCHEDULE_SERVICE_PATH}/${method}`, body)
  }
  const one = (method: string) => async (name: string) =>
    answerOf<ScheduleResponse>(await post(method, { name }), 'schedule', method)
  return {
    list: async () => answerOf<ListSchedulesResponse>(await post('List', {}), 'schedules', 'List'),
    pause: one('Pause'),
    resume: one('Resume'),
    trigger: one('Trigger'),
  }
}
