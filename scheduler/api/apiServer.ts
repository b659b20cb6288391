import {
  CALL_SERVICE_PATH,
  CancelCallRequest,
  checkProtoDuration,
  DispatchError,
  dspError,
  GetCallRequest,
  GetStatsRequest,
  type GetStatsResponse,
  ListCallsRequest,
  PurgeCallsRequest,
  type PurgeCallsResponse,
  RedriveCallRequest,
  SIGNAL_TYPE_URL,
  SignalCallRequest,
  TERMINAL_STATES,
  WaitCallRequest,
} from 'dispatch-functions/protocol'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import type { CallEvents } from '../calls/callEvents.js'
import { ConnectRefusal, sendConnectError } from '../calls/connectError.js'
import type { FaultHooks } from '../calls/faultHooks.js'
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../calls/jsonDepth.js'
import { REFUSAL_CODES, toNewCalls } from '../calls/toNewCalls.js'
import type { SchedulerMetrics } from '../metrics/schedulerMetrics.js'
import { IdempotencyConflict } from '../store/idempotencyConflict.js'
import { purgeInBatches } from '../store/retention.js'
import type { ChangeResult, QueueKey, Store } from '../store/store.js'
import type { ApiOptions } from './apiOptions.js'
import { MAX_WAIT_MS } from './apiTimeouts.js'
import type { BackPressure } from './backPressure.js'
import { bearerChecker } from './bearerAuth.js'
import type { GroupCommitter } from './groupCommitter.js'
import { storeUnavailable } from './storeUnavailable.js'
import { toAttemptInfo, toCallInfo } from './toCallInfo.js'

export const DISPATCH_PATH = '/dispatch.sdk.v1.DispatchService/Dispatch'

/** Wait answers after this long when the request gives no timeout, and never waits longer than MAX_WAIT_MS. */
const DEFAULT_WAIT_MS = 30_000
/** Waiters re-read the store this often, to see changes made by another process. */
const WAIT_RECHECK_MS = 1000

export interface ApiServerParts {
  readonly store: Store
  readonly events: CallEvents
  readonly options: ApiOptions
  readonly apiKey: string
  /**
   * Called after new or redriven calls are durable: delivery looks for due calls now. `queues` names
   * the queues new calls went into (absent: unknown, e.g. a redrive).
   */
  readonly onNewWork: (queues?: readonly QueueKey[], capped?: boolean) => void
  /** Merges concurrent Dispatch requests into shared commits; without it each request commits alone. */
  readonly committer?: GroupCommitter | undefined
  /** Refuses dispatches with 429 + Retry-After while the store or the endpoints are behind. */
  readonly pressure?: BackPressure | undefined
  /** What the CallService's Stats answers beside the counts per function and state (limits, in flight). */
  readonly liveStats?: (() => Omit<GetStatsResponse, 'calls'>) | undefined
  /** Pino options (Fastify's `logger`), or a logger instance; neither: no logging. */
  readonly logger?: FastifyServerOptions['logger'] | undefined
  readonly loggerInstance?: FastifyServerOptions['loggerInstance'] | undefined
  /** Fault injection (the fault suite only): told before and after a Dispatch commits. */
  readonly faults?: FaultHooks | undefined
  /** Told of accepted calls and refusals, and served on `GET /metrics` (behind the key); none: no `/metrics`. */
  readonly metrics?: SchedulerMetrics | undefined
}

function validator<T>(schema: TSchema, name: string): (body: unknown) => T {
  const compiled = Compile(schema)
  return (body) => {
    if (compiled.Check(body)) {
      // Ids, names and keys are compared with stored text, which never holds a NUL (PostgreSQL cannot).
      for (const [field, value] of Object.entries(body as object)) {
        if (typeof value === 'string' && value.includes('\u0000'))
          throw new ConnectRefusal(
            'invalid_argument',
            `${REFUSAL_CODES.nul}: ${field} must not contain a NUL character (\\u0000)`,
          )
      }
      return body as T
    }
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
const parseSignal = validator<SignalCallRequest>(SignalCallRequest, 'SignalCallRequest')
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
 * (Get, Wait, List, Cancel, Redrive, Stats, Purge), and `GET /metrics` (Prometheus). Every request needs
 * `Authorization: Bearer <api key>`.
 */
export function buildApiServer(parts: ApiServerParts): FastifyInstance {
  const { store, events, options } = parts
  const timeouts = options.apiTimeouts
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    // Slow or stalled clients are cut off: headers and then the whole request must arrive within their
    // deadlines (Node counts them while receiving only, so a long Wait answer is not cut).
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node checks both deadlines on this interval (30 s by default): check often enough to keep them.
      connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(timeouts.headersMs / 2))),
    },
    ...(parts.loggerInstance !== undefined
      ? { loggerInstance: parts.loggerInstance }
      : { logger: parts.logger ?? false }),
    // Long polls must not keep a closing server waiting: close() ends idle keep-alive sockets.
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance
  const authorized = bearerChecker(parts.apiKey)

  app.addHook('onRequest', async (request, reply) => {
    if (!authorized(request.headers.authorization)) {
      // The connection closes after the answer: the body of an unauthenticated request is never read.
      reply.header('connection', 'close')
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
    if (error instanceof IdempotencyConflict) {
      const refusal = dspError('DSP3022', `call ${error.index}: ${error.message}; nothing was stored`, {
        hint: `the same key with the same input returns the first call's id: give a new input a new key (keys are kept ${options.idempotencyWindowMs} ms)`,
      })
      return sendConnectError(reply, 'already_exists', `${refusal.code}: ${refusal.message}; ${refusal.hint}`)
    }
    // A value the store cannot hold (DSP3520): the request's fault, refused whole, nothing stored.
    if (error instanceof DispatchError && error.httpStatus >= 400 && error.httpStatus < 500)
      return sendConnectError(reply, 'invalid_argument', `${error.code}: ${error.message}`)
    const status = (error as FastifyError).statusCode ?? 500
    // 413, not 429: sending the same body again cannot succeed, so clients must not retry it.
    if (status === 413) {
      const size = Number(request.headers['content-length'])
      return sendConnectError(
        reply,
        'invalid_argument',
        `the request body${Number.isSafeInteger(size) ? ` (${size} bytes)` : ''} is over this scheduler's limit of ${options.bodyLimit} bytes: dispatch fewer calls per request, pass large inputs by reference (store them, send a key), or raise the scheduler's bodyLimit`,
        413,
      )
    }
    if (status >= 400 && status < 500) return sendConnectError(reply, 'invalid_argument', error.message)
    // A full disk or a lost database is not a bug: 503, and the client tries again later.
    const unavailable = storeUnavailable(error)
    if (unavailable !== undefined) {
      request.log.warn({ err: error }, 'the store is unavailable now; answered 503')
      const refusal = dspError('DSP3007', `the store is unavailable now (${unavailable}); nothing was acknowledged`, {
        hint: 'send the request again after Retry-After, with idempotency keys so that a repeat is harmless',
      })
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
        parts.metrics?.rejected(refusal.reason)
        reply.header('retry-after', String(refusal.retryAfterS))
        return sendConnectError(reply, 'resource_exhausted', refusal.message)
      }
    },
    handler: async (request) => {
      const now = options.now()
      const calls = toNewCalls(request.body, options, now)
      parts.faults?.at('dispatch-before-commit')
      // The ids go back only after the insert resolved, i.e. after the (shared) commit is durable.
      const results =
        committer !== undefined
          ? await committer.insert(calls)
          : await store.insertCalls(calls, { now, idempotencyWindowMs: options.idempotencyWindowMs })
      const inserted = calls.filter((_, i) => results[i]!.inserted)
      if (inserted.length > 0) {
        pressure?.inserted(inserted.length)
        parts.metrics?.accepted(inserted)
        parts.onNewWork(
          distinctQueues(inserted),
          inserted.some((call) => call.concurrency !== undefined),
        )
      }
      parts.faults?.at('dispatch-after-commit')
      return { dispatchIds: results.map((r) => r.dispatchId) }
    },
  })

  const service = (method: string) => `${CALL_SERVICE_PATH}/${method}`

  app.post(service('Get'), async (request) => {
    const { dispatchId } = parseGet(request.body)
    const call = await store.getCall(dispatchId)
    if (call === undefined) throw notFound(dispatchId)
    const info = toCallInfo(call, options.now())
    if (store.listAttempts === undefined) return { call: info }
    return { call: info, attempts: (await store.listAttempts(dispatchId)).map(toAttemptInfo) }
  })

  app.post(service('Wait'), async (request) => {
    const { dispatchId, timeout } = parseWait(request.body)
    let waitMs = DEFAULT_WAIT_MS
    if (timeout !== undefined) {
      const checked = checkProtoDuration(timeout, 0)
      if (checked.problem !== undefined)
        throw new ConnectRefusal('invalid_argument', `${REFUSAL_CODES.timeRange}: timeout ${checked.problem}`)
      waitMs = Math.min(MAX_WAIT_MS, checked.ms)
    }
    // A long poll's deadline is in real time, whatever clock the calls' due times follow.
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
      maxMessageBytes: options.listMessageBytes,
      maxPageBytes: options.listPageBytes,
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
    const result = await store.cancelCall(dispatchId, options.now())
    if (result.kind === 'changed') {
      pressure?.inserted(-1)
      // A cancelled child may have made its suspended parent due (a `Cancelled` result).
      if (result.call.parentDispatchId !== undefined) parts.onNewWork()
    }
    return changed(dispatchId, result, 'cancel', (s) => s === 'cancelled')
  })

  app.post(service('Redrive'), async (request) => {
    const { dispatchId } = parseRedrive(request.body)
    const result = await store.redriveCall(dispatchId, options.now())
    const answer = changed(dispatchId, result, 'redrive (only failed or cancelled calls can be)', () => false)
    pressure?.inserted(1)
    parts.onNewWork()
    return answer
  })

  // A signal travels to the call as a result without a child (Store.signalCall).
  app.post(service('Signal'), async (request) => {
    const { dispatchId, name, payload } = parseSignal(request.body)
    if (nestedDeeperThan(payload, MAX_JSON_DEPTH)) {
      throw new ConnectRefusal('invalid_argument', `the payload is nested deeper than ${MAX_JSON_DEPTH} levels`)
    }
    const signal = { '@type': SIGNAL_TYPE_URL, name, ...(payload === undefined ? {} : { value: payload }) }
    const result = await store.signalCall(dispatchId, signal, options.now())
    if (result.kind === 'changed') parts.onNewWork()
    return changed(dispatchId, result, `signal ${name}`, () => false)
  })

  // How the scheduler copes with its load (`dispatch calls stats`); never refused.
  app.post(service('Stats'), async (request): Promise<GetStatsResponse> => {
    parseStats(request.body ?? {})
    const calls = await store.countCalls()
    return { calls, ...(parts.liveStats?.() ?? { endpoints: [], inFlight: 0 }) }
  })

  // A manual purge (`dispatch calls purge`): the batches retention runs, bounded per request.
  app.post(service('Purge'), async (request): Promise<PurgeCallsResponse> => {
    const { olderThan } = parsePurge(request.body)
    const checked = checkProtoDuration(olderThan, 0)
    if (checked.problem !== undefined)
      throw new ConnectRefusal('invalid_argument', `${REFUSAL_CODES.timeRange}: olderThan ${checked.problem}`)
    const { deleted, more } = await purgeInBatches(store, options.now() - checked.ms)
    return more ? { deleted, more } : { deleted }
  })

  const { metrics } = parts
  if (metrics !== undefined) {
    // Prometheus text exposition, behind the same bearer key as every other route (the onRequest hook).
    app.get('/metrics', async (_request, reply) => {
      const text = await metrics.scrape()
      return reply.header('content-type', metrics.contentType).send(text)
    })
  }

  return app
}
