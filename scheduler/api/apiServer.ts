import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { fromProtoDuration } from '../../runtime/client/duration.js'
import { DispatchError } from '../../runtime/errors/dispatchError.js'
import {
  CALL_SERVICE_PATH,
  CancelCallRequest,
  GetCallRequest,
  GetStatsRequest,
  type GetStatsResponse,
  ListCallsRequest,
  PurgeCallsRequest,
  type PurgeCallsResponse,
  RedriveCallRequest,
  TERMINAL_STATES,
  WaitCallRequest,
} from '../../schemas/callService.js'
import type { BackPressure } from '../backPressure.js'
import type { CallEvents } from '../callEvents.js'
import type { GroupCommitter } from '../groupCommitter.js'
import { purgeInBatches } from '../retention.js'
import type { ResolvedSchedulerOptions } from '../schedulerOptions.js'
import type { ChangeResult, QueueKey, Store } from '../store/store.js'
import { CRASH_AT, crashAt } from '../testCrash.js'
import { bearerChecker } from './bearerAuth.js'
import { ConnectRefusal, sendConnectError } from './connectError.js'
import { storeUnavailable } from './storeUnavailable.js'
import { toCallInfo } from './toCallInfo.js'
import { toNewCalls } from './toNewCalls.js'

export const DISPATCH_PATH = '/dispatch.sdk.v1.DispatchService/Dispatch'

/** Wait answers after this long when the request gives no timeout, and never waits longer than the maximum. */
const DEFAULT_WAIT_MS = 30_000
const MAX_WAIT_MS = 300_000
/** Waiters re-read the store this often, to see changes made by another process. */
const WAIT_RECHECK_MS = 1000

export interface ApiServerParts {
  readonly store: Store
  readonly events: CallEvents
  readonly options: ResolvedSchedulerOptions
  readonly apiKey: string
  /**
   * Called after new or redriven calls are durable: delivery looks for due calls now. `queues` names
   * the queues new calls went into (absent: unknown, e.g. a redrive).
   */
  readonly onNewWork: (queues?: readonly QueueKey[]) => void
  /** Merges concurrent Dispatch requests into shared commits; without it each request commits alone. */
  readonly committer?: GroupCommitter | undefined
  /** Refuses dispatches with 429 + Retry-After while the store or the endpoints are behind. */
  readonly pressure?: BackPressure | undefined
  /** What the CallService's Stats answers beside the counts per function and state (issue 5). */
  readonly liveStats?: (() => Omit<GetStatsResponse, 'calls'>) | undefined
  /** Pino options (Fastify's `logger`), or a logger instance; neither: no logging. */
  readonly logger?: FastifyServerOptions['logger'] | undefined
  readonly loggerInstance?: FastifyServerOptions['loggerInstance'] | undefined
}

function validator<T>(schema: TSchema, name: string): (body: unknown) => T {
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

const parseGet = validator<GetCallRequest>(GetCallRequest, 'GetCallRequest')
const parseWait = validator<WaitCallRequest>(WaitCallRequest, 'WaitCallRequest')
const parseList = validator<ListCallsRequest>(ListCallsRequest, 'ListCallsRequest')
const parseCancel = validator<CancelCallRequest>(CancelCallRequest, 'CancelCallRequest')
const parseRedrive = validator<RedriveCallRequest>(RedriveCallRequest, 'RedriveCallRequest')
const parseStats = validator<GetStatsRequest>(GetStatsRequest, 'GetStatsRequest')
const parsePurge = validator<PurgeCallsRequest>(PurgeCallsRequest, 'PurgeCallsRequest')

const encodeCursor = (id: string): string => Buffer.from(id).toString('base64url')
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (!/^[0-9a-z]{1,64}$/.test(id)) throw new ConnectRefusal('invalid_argument', 'cursor is not one this API returned')
  return id
}

function distinctQueues(calls: readonly QueueKey[]): QueueKey[] {
  const seen = new Map<string, QueueKey>()
  for (const c of calls) {
    const id = `${c.endpoint}\n${c.function}\n${c.fairnessKey ?? ''}\n${c.fairnessKey === undefined}`
    if (!seen.has(id)) seen.set(id, { endpoint: c.endpoint, function: c.function, fairnessKey: c.fairnessKey })
  }
  return [...seen.values()]
}

function notFound(dispatchId: string): ConnectRefusal {
  return new ConnectRefusal('not_found', `no call with dispatch id ${dispatchId}`)
}

/**
 * The scheduler's HTTP API (Connect unary JSON): DispatchService.Dispatch and the CallService
 * (Get, Wait, List, Cancel, Redrive, Stats, Purge). Every request needs `Authorization: Bearer <api key>`.
 */
export function buildApiServer(parts: ApiServerParts): FastifyInstance {
  const { store, events, options } = parts
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    ...(parts.loggerInstance !== undefined
      ? { loggerInstance: parts.loggerInstance }
      : { logger: parts.logger ?? false }),
    // Long polls must not keep a closing server waiting: close() ends idle keep-alive sockets.
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance
  const authorized = bearerChecker(parts.apiKey)

  app.addHook('onRequest', async (request, reply) => {
    if (!authorized(request.headers.authorization)) {
      // Says what is missing without echoing what was sent: the header carries a secret.
      return sendConnectError(
        reply,
        'unauthenticated',
        request.headers.authorization === undefined
          ? 'missing Authorization header: send Authorization: Bearer <DISPATCH_API_KEY>'
          : 'the API key is not the one this scheduler accepts',
      )
    }
  })

  app.setNotFoundHandler((request, reply) =>
    sendConnectError(reply, 'not_found', `no such method: ${request.method} ${request.url.split('?')[0]}`),
  )

  app.setErrorHandler((error: FastifyError | ConnectRefusal, request, reply) => {
    if (error instanceof ConnectRefusal) return sendConnectError(reply, error.connectCode, error.message)
    const status = (error as FastifyError).statusCode ?? 500
    if (status === 413)
      return sendConnectError(reply, 'resource_exhausted', `the body is over ${options.bodyLimit} bytes`)
    if (status >= 400 && status < 500) return sendConnectError(reply, 'invalid_argument', error.message)
    // Issue 8: a full disk or a lost database is not a bug: 503, and the client tries again later.
    const unavailable = storeUnavailable(error)
    if (unavailable !== undefined) {
      request.log.warn({ err: error }, 'the store is unavailable now; answered 503')
      const refusal = new DispatchError(
        'DSP3007',
        `the store is unavailable now (${unavailable}); nothing was acknowledged`,
        { hint: 'send the request again after Retry-After, with idempotency keys so that a repeat is harmless' },
      )
      reply.header('retry-after', String(parts.pressure?.options.retryAfterS ?? 1))
      return sendConnectError(reply, 'unavailable', `${refusal.code}: ${refusal.message}; ${refusal.hint}`)
    }
    request.log.error({ err: error }, 'request failed')
    return sendConnectError(reply, 'internal', 'the scheduler failed to handle the request; nothing was changed')
  })

  const { committer, pressure } = parts
  app.post(DISPATCH_PATH, {
    // Refused before the body is read: a scheduler that is behind does not buffer more requests.
    onRequest: async (_request, reply) => {
      const refusal = pressure?.check()
      if (refusal !== undefined) {
        reply.header('retry-after', String(refusal.retryAfterS))
        return sendConnectError(reply, 'resource_exhausted', refusal.message)
      }
    },
    handler: async (request) => {
      const now = Date.now()
      const calls = toNewCalls(request.body, options, now)
      if (CRASH_AT !== undefined) crashAt('dispatch-before-commit') // test-only fault point (test/faults)
      // The ids go back only after the insert resolved, i.e. after the (shared) commit is durable.
      const results =
        committer !== undefined
          ? await committer.insert(calls)
          : await store.insertCalls(calls, { now, idempotencyWindowMs: options.idempotencyWindowMs })
      const inserted = calls.filter((_, i) => results[i]!.inserted)
      if (inserted.length > 0) {
        pressure?.inserted(inserted.length)
        parts.onNewWork(distinctQueues(inserted))
      }
      if (CRASH_AT !== undefined) crashAt('dispatch-after-commit') // test-only fault point (test/faults)
      return { dispatchIds: results.map((r) => r.dispatchId) }
    },
  })

  const service = (method: string) => `${CALL_SERVICE_PATH}/${method}`

  app.post(service('Get'), async (request) => {
    const { dispatchId } = parseGet(request.body)
    const call = await store.getCall(dispatchId)
    if (call === undefined) throw notFound(dispatchId)
    return { call: toCallInfo(call) }
  })

  app.post(service('Wait'), async (request) => {
    const { dispatchId, timeout } = parseWait(request.body)
    const waitMs = Math.min(
      MAX_WAIT_MS,
      Math.max(0, timeout === undefined ? DEFAULT_WAIT_MS : fromProtoDuration(timeout)),
    )
    const deadline = Date.now() + waitMs
    for (;;) {
      const call = await store.getCall(dispatchId)
      if (call === undefined) throw notFound(dispatchId)
      const done = TERMINAL_STATES.has(call.state)
      const left = deadline - Date.now()
      if (done || left <= 0 || events.isClosed) return { call: toCallInfo(call), done }
      await events.next(dispatchId, Math.min(left, WAIT_RECHECK_MS))
    }
  })

  app.post(service('List'), async (request) => {
    const filter = parseList(request.body ?? {})
    const page = await store.listCalls({
      limit: filter.limit ?? 100,
      ...(filter.state !== undefined ? { state: filter.state } : {}),
      ...(filter.function !== undefined ? { function: filter.function } : {}),
      ...(filter.fairnessKey !== undefined ? { fairnessKey: filter.fairnessKey } : {}),
      ...(filter.parentDispatchId !== undefined ? { parentDispatchId: filter.parentDispatchId } : {}),
      ...(filter.cursor !== undefined ? { after: decodeCursor(filter.cursor) } : {}),
    })
    return {
      calls: page.calls.map(toCallInfo),
      ...(page.nextAfter !== undefined ? { nextCursor: encodeCursor(page.nextAfter) } : {}),
    }
  })

  const changed = (dispatchId: string, result: ChangeResult, verb: string, accepted: (state: string) => boolean) => {
    if (result.kind === 'notFound') throw notFound(dispatchId)
    if (result.kind === 'refused' && !accepted(result.call.state)) {
      throw new ConnectRefusal('failed_precondition', `cannot ${verb} call ${dispatchId}: it is ${result.call.state}`)
    }
    events.notify([dispatchId])
    return { call: toCallInfo(result.call) }
  }

  app.post(service('Cancel'), async (request) => {
    const { dispatchId } = parseCancel(request.body)
    // Cancelling a cancelled call is a no-op, so a retried Cancel succeeds.
    const result = await store.cancelCall(dispatchId, Date.now())
    if (result.kind === 'changed') {
      pressure?.inserted(-1)
      // Issue 6: a cancelled child may have made its suspended parent due (a `Cancelled` result).
      if (result.call.parentDispatchId !== undefined) parts.onNewWork()
    }
    return changed(dispatchId, result, 'cancel', (s) => s === 'cancelled')
  })

  app.post(service('Redrive'), async (request) => {
    const { dispatchId } = parseRedrive(request.body)
    const result = await store.redriveCall(dispatchId, Date.now())
    const answer = changed(dispatchId, result, 'redrive (only failed or cancelled calls can be)', () => false)
    pressure?.inserted(1)
    parts.onNewWork()
    return answer
  })

  // Issue 5: how the scheduler copes with its load (`dispatch calls stats`); never refused.
  app.post(service('Stats'), async (request): Promise<GetStatsResponse> => {
    parseStats(request.body ?? {})
    const calls = await store.countCalls()
    return { calls, ...(parts.liveStats?.() ?? { endpoints: [], inFlight: 0 }) }
  })

  // A manual purge (`dispatch calls purge`): the batches retention runs, bounded per request.
  app.post(service('Purge'), async (request): Promise<PurgeCallsResponse> => {
    const { olderThan } = parsePurge(request.body)
    const ms = fromProtoDuration(olderThan)
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw new ConnectRefusal('invalid_argument', `olderThan ${olderThan} is not a duration >= 0s`)
    }
    const { deleted, more } = await purgeInBatches(store, Date.now() - ms)
    return more ? { deleted, more } : { deleted }
  })

  return app
}
