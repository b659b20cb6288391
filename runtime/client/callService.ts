import {
  type AttemptInfo,
  type BulkCallsRequest,
  type BulkCallsResponse,
  CALL_SERVICE_PATH,
  type CallInfo,
  type GetStatsResponse,
  type ListCallsRequest,
  type ListCallsResponse,
  type PurgeCallsResponse,
  type WaitCallResponse,
} from '../../schemas/callService.js'
import { toProtoDuration } from '../../schemas/duration.js'
import { dspError } from '../../schemas/errors/dspError.js'
import type { DurationInput } from './callOptions.js'
import { type ClientOptions, ENV_FIX, resolveClientConfig } from './clientConfig.js'
import { postToScheduler } from './dispatchBatch.js'
import { toMilliseconds } from './duration.js'

/** A client of the scheduler's CallService: inspect, wait for, list, cancel and redrive calls. */
export interface CallServiceClient {
  get(dispatchId: string): Promise<CallInfo>
  /** The call and its attempt history (the last 20 attempts, oldest first; empty when the scheduler keeps none). */
  inspect(dispatchId: string): Promise<{ call: CallInfo; attempts: AttemptInfo[] }>
  /** Long-polls until the call is terminal or `timeout` passes; `done` says which. */
  wait(dispatchId: string, timeout?: DurationInput): Promise<WaitCallResponse>
  list(filter?: ListCallsRequest): Promise<ListCallsResponse>
  cancel(dispatchId: string): Promise<CallInfo>
  redrive(dispatchId: string): Promise<CallInfo>
  /**
   * Sends a signal to a live call: a coroutine waiting with `waitForSignal(name)` resumes with
   * `payload` (JSON); one that does not wait for it yet keeps it until it does. A finished call
   * refuses it (`failed_precondition`), an unknown one is `not_found`.
   */
  signal(dispatchId: string, name: string, payload?: unknown): Promise<CallInfo>
  /** Counts per function and state, and each endpoint's adaptive concurrency limit, bounds and attempts in flight. */
  stats(): Promise<GetStatsResponse>
  /**
   * Deletes finished calls last changed more than `olderThan` ago (calls whose parent or root is live
   * are kept); one request deletes a bounded number, `more` says to call again.
   */
  purge(olderThan: DurationInput): Promise<PurgeCallsResponse>
  /**
   * Cancels the live calls that match a filter, one page per request (`nextCursor`: send it again with
   * that cursor); `dryRun` only counts them.
   */
  cancelMany(request: BulkCallsRequest): Promise<BulkCallsResponse>
  /** Redrives the failed or cancelled calls that match a filter, like {@link CallServiceClient.cancelMany}. */
  redriveMany(request: BulkCallsRequest): Promise<BulkCallsResponse>
}

function callOf(answer: unknown, method: string): CallInfo {
  const call = (answer as { call?: CallInfo }).call
  if (call === undefined || typeof call !== 'object') {
    throw dspError('DSP2004', `the scheduler answered ${method} without a call`, {
      hint: `DISPATCH_API_URL must point at a dispatch-functions scheduler: ${ENV_FIX}`,
    })
  }
  return call
}

function bulkOf(answer: unknown, method: string): BulkCallsResponse {
  const { matched, changed } = answer as Partial<BulkCallsResponse>
  if (typeof matched !== 'number' || typeof changed !== 'number') {
    throw dspError('DSP2004', `the scheduler answered ${method} without counts`, {
      hint: 'check that DISPATCH_API_URL points at a dispatch-functions scheduler of this version or newer',
    })
  }
  return answer as BulkCallsResponse
}

/**
 * Builds a CallService client. The API URL and key come from the options or from
 * `DISPATCH_API_URL` / `DISPATCH_API_KEY`.
 *
 * @example
 * ```ts
 * const calls = createCallServiceClient()
 * const { call, done } = await calls.wait(id, '30s')
 * ```
 */
export function createCallServiceClient(options: Pick<ClientOptions, 'apiUrl' | 'apiKey'> = {}): CallServiceClient {
  const post = (method: string, body: unknown) => {
    const { apiUrl, apiKey } = resolveClientConfig({ endpoint: 'unused', ...options })
    return postToScheduler(apiUrl, apiKey, `${CALL_SERVICE_PATH}/${method}`, body)
  }
  return {
    get: async (dispatchId) => callOf(await post('Get', { dispatchId }), 'Get'),
    inspect: async (dispatchId) => {
      const answer = await post('Get', { dispatchId })
      const attempts = (answer as { attempts?: unknown }).attempts
      return { call: callOf(answer, 'Get'), attempts: Array.isArray(attempts) ? (attempts as AttemptInfo[]) : [] }
    },
    wait: async (dispatchId, timeout = '30s') => {
      const answer = (await post('Wait', {
        dispatchId,
        timeout: toProtoDuration(toMilliseconds(timeout, 'timeout')),
      })) as WaitCallResponse
      return { call: callOf(answer, 'Wait'), done: answer.done === true }
    },
    list: async (filter = {}) => {
      const answer = (await post('List', filter)) as ListCallsResponse
      if (!Array.isArray(answer.calls)) {
        throw dspError('DSP2004', 'the scheduler answered List without calls', {
          hint: `DISPATCH_API_URL must point at a dispatch-functions scheduler: ${ENV_FIX}`,
        })
      }
      return answer
    },
    cancel: async (dispatchId) => callOf(await post('Cancel', { dispatchId }), 'Cancel'),
    redrive: async (dispatchId) => callOf(await post('Redrive', { dispatchId }), 'Redrive'),
    signal: async (dispatchId, name, payload) =>
      callOf(await post('Signal', { dispatchId, name, ...(payload === undefined ? {} : { payload }) }), 'Signal'),
    stats: async () => {
      const answer = (await post('Stats', {})) as GetStatsResponse
      if (!Array.isArray(answer.calls) || !Array.isArray(answer.endpoints)) {
        throw dspError('DSP2004', 'the scheduler answered Stats without calls and endpoints', {
          hint: `DISPATCH_API_URL must point at a dispatch-functions scheduler of this version or newer: ${ENV_FIX}`,
        })
      }
      return answer
    },
    cancelMany: async (request) => bulkOf(await post('CancelMany', request), 'CancelMany'),
    redriveMany: async (request) => bulkOf(await post('RedriveMany', request), 'RedriveMany'),
    purge: async (olderThan) => {
      const answer = (await post('Purge', {
        olderThan: toProtoDuration(toMilliseconds(olderThan, 'olderThan')),
      })) as PurgeCallsResponse
      if (typeof answer.deleted !== 'number') {
        throw dspError('DSP2004', 'the scheduler answered Purge without a count', {
          hint: 'check that DISPATCH_API_URL points at a dispatch-functions scheduler of this version or newer',
        })
      }
      return answer
    },
  }
}
