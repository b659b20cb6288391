import {
  BulkCallsRequest,
  type BulkCallsResponse,
  CALL_SERVICE_PATH,
  type CallState,
  CancelCallRequest,
  checkProtoDuration,
  codecOfContentType,
  DispatchError,
  DispatchRequestProto,
  DispatchResponseProto,
  decodeProto,
  dspError,
  encodeProto,
  GetCallRequest,
  GetStatsRequest,
  type GetStatsResponse,
  ListCallsRequest,
  PROTO_CONTENT_TYPE,
  ProtoCodecError,
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
import type { ChangeResult, InsertResult, NewCall, QueueKey, Store } from '../store/store.js'
import type { ApiOptions } from './apiOptions.js'
import { MAX_WAIT_MS } from './apiTimeouts.js'
import type { BackPressure } from './backPressure.js'
import { bearerChecker } from './bearerAuth.js'
import { Dashboard } from './dashboard.js'
import type { DashboardOptions } from './dashboardOptions.js'
import type { GroupCommitter } from './groupCommitter.js'
import { storeUnavailable } from './storeUnavailable.js'
import { toAttemptInfo, toCallInfo } from './toCallInfo.js'
import { toListFilter } from './toListFilter.js'

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
  /** Serve the web dashboard under `/ui/` (its login, its session cookie); none: no dashboard. */
  readonly dashboard?: DashboardOptions | undefined
}

function validator<T>(schema: TSchema, name: string): (body: unknown) => T {
  const compiled = Compile(schema)
  return (body) => {
    if (Buffer.isBuffer(body)) {
      throw new ConnectRefusal(
        'invalid_argument',
        `the CallService speaks JSON only (docs/protocol.md §2.1): send the ${name} with Content-Type: application/json`,
      )
    }
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
const parseBulk = validator<BulkCallsRequest>(BulkCallsRequest, 'BulkCallsRequest')

/** The states a bulk action changes: cancel only live calls, redrive only failed or cancelled ones. */
const BULK_STATES: Record<'cancel' | 'redrive', ReadonlySet<CallState>> = {
  cancel: new Set<CallState>(['pending', 'running', 'suspended']),
  redrive: new Set<CallState>(['failed', 'cancelled']),
}
/** Calls one bulk request looks at when it gives no limit. */
const DEFAULT_BULK_LIMIT = 500

const encodeCursor = (id: string): string => Buffer.from(id).toString('base64url')
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString()
  if (!/^[0-9a-z]{1,64}$/.test(id)) throw new ConnectRefusal('invalid_argument', 'cursor is not one this API returned')
  return id
}

function distinctQueues(calls: readonly QueueKey[]): QueueKey[] {
  const seen = new Map<string, QueueKey>()
  let last: QueueKey | undefined
  for (const c of calls) {
    // A batch's calls mostly go to one queue: a call of the previous call's queue needs no key.
    if (
      last !== undefined &&
      last.endpoint === c.endpoint &&
      last.function === c.function &&
      last.fairnessKey === c.fairnessKey
    )
      continue
    last = c
    const id = `${c.endpoint}\n${c.function}\n${c.fairnessKey ?? ''}\n${c.fairnessKey === undefined}`
    if (!seen.has(id)) seen.set(id, { endpoint: c.endpoint, function: c.function, fairnessKey: c.fairnessKey })
  }
  return [...seen.values()]
}

/** A binary DispatchRequest in its JSON form; bytes that are not one are refused (DSP3014). */
function decodeDispatchRequest(body: Buffer): unknown {
  try {
    return decodeProto(DispatchRequestProto, body)
  } catch (error) {
    if (!(error instanceof ProtoCodecError)) throw error
    const refusal = dspError('DSP3014', error.message)
    throw new ConnectRefusal('invalid_argument', `${refusal.code}: ${refusal.message}; ${refusal.hint}`)
  }
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

  const dashboard =
    parts.dashboard === undefined
      ? undefined
      : new Dashboard({
          options: parts.dashboard,
          apiKey: parts.apiKey,
          store,
          metrics: parts.metrics,
          liveStats: parts.liveStats,
          now: options.now,
        })

  app.addHook('onRequest', async (request, reply) => {
    // Without Authorization, the dashboard's pages and session cookie may authenticate the request.
    if (dashboard !== undefined && request.headers.authorization === undefined) {
      const access = dashboard.access(request, reply)
      if (access === 'refused') return reply
      if (access !== 'none') return
    }
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

  // Connect unary in binary protobuf (docs/protocol.md §2): the body stays bytes here, and the Dispatch
  // route decodes it into the JSON form that the rest of the API checks.
  app.addContentTypeParser(
    ['application/proto', 'application/protobuf', 'application/x-protobuf'],
    { parseAs: 'buffer' },
    (_request, body, done) => done(null, body),
  )

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
    handler: async (request, reply) => {
      const now = options.now()
      const proto = codecOfContentType(request.headers['content-type']) === 'proto'
      const calls = toNewCalls(proto ? decodeDispatchRequest(request.body as Buffer) : request.body, options, now)
      parts.faults?.at('dispatch-before-commit')
      // Delivery may start the calls once they are committed (a store that syncs after its commit
      // says so before it resolves: a dispatch does not wait for the fsync to be delivered).
      let inserted: NewCall[] | undefined
      const notice = (results: readonly InsertResult[]) => {
        if (inserted !== undefined) return
        inserted = calls.filter((_, i) => results[i]!.inserted)
        if (inserted.length === 0) return
        // Counted before delivery can finish any of them (the count of unfinished calls stays >= 0).
        pressure?.inserted(inserted.length)
        parts.onNewWork(
          distinctQueues(inserted),
          inserted.some((call) => call.concurrency !== undefined || call.rateLimit !== undefined),
        )
      }
      // The ids go back only after the insert resolved, i.e. after the (shared) commit is durable.
      const results =
        committer !== undefined
          ? await committer.insert(calls, notice)
          : await store.insertCalls(calls, {
              now,
              idempotencyWindowMs: options.idempotencyWindowMs,
              onCommitted: notice,
            })
      notice(results)
      if (inserted !== undefined && inserted.length > 0) parts.metrics?.accepted(inserted)
      parts.faults?.at('dispatch-after-commit')
      const answer = { dispatchIds: results.map((r) => r.dispatchId) }
      if (!proto) return answer
      return reply
        .header('content-type', PROTO_CONTENT_TYPE)
        .send(Buffer.from(encodeProto(DispatchResponseProto, answer)))
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
      ...toListFilter(filter),
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
    return { call: toCallInfo(result.call) }
  }

  const cancel = async (dispatchId: string): Promise<ChangeResult> => {
    const result = await store.cancelCall(dispatchId, options.now())
    if (result.kind === 'changed') {
      pressure?.inserted(-1)
      events.notify([dispatchId])
      // A cancelled child may have made its suspended parent due (a `Cancelled` result).
      if (result.call.parentDispatchId !== undefined) parts.onNewWork()
    }
    return result
  }
  const redrive = async (dispatchId: string): Promise<ChangeResult> => {
    const result = await store.redriveCall(dispatchId, options.now())
    if (result.kind === 'changed') {
      pressure?.inserted(1)
      events.notify([dispatchId])
      parts.onNewWork()
    }
    return result
  }

  app.post(service('Cancel'), async (request) => {
    const { dispatchId } = parseCancel(request.body)
    // Cancelling a cancelled call is a no-op, so a retried Cancel succeeds.
    return changed(dispatchId, await cancel(dispatchId), 'cancel', (s) => s === 'cancelled')
  })

  app.post(service('Redrive'), async (request) => {
    const { dispatchId } = parseRedrive(request.body)
    const result = await redrive(dispatchId)
    return changed(dispatchId, result, 'redrive (only failed or cancelled calls can be)', () => false)
  })

  // Bulk actions by filter, a bounded page per request so that none holds the store long.
  const bulk = (verb: 'cancel' | 'redrive', change: (id: string) => Promise<ChangeResult>) =>
    async function bulkChange(request: { body: unknown }): Promise<BulkCallsResponse> {
      const body = parseBulk(request.body ?? {})
      const filter = toListFilter(body)
      const states = BULK_STATES[verb]
      if (Object.keys(filter).length === 0)
        throw new ConnectRefusal(
          'invalid_argument',
          `DSP3042: a bulk ${verb} needs at least one filter (state, function, endpoint, fairnessKey, parentDispatchId, createdAfter, createdBefore, search)`,
        )
      if (filter.state !== undefined && !states.has(filter.state))
        throw new ConnectRefusal(
          'invalid_argument',
          `DSP3042: no ${filter.state} call can be ${verb === 'cancel' ? 'cancelled' : 'redriven'}: only ${[...states].join(', ')} calls can`,
        )
      const page = await store.listCalls({
        ...filter,
        limit: body.limit ?? DEFAULT_BULK_LIMIT,
        // Only ids and states are needed: no message is read.
        maxMessageBytes: 0,
        ...(body.cursor !== undefined ? { after: decodeCursor(body.cursor) } : {}),
      })
      const ids = page.calls.filter((c) => states.has(c.state)).map((c) => c.dispatchId)
      let done = 0
      if (body.dryRun !== true) {
        // One call at a time: a cancelled coroutine takes its tree along, which later ids then find changed.
        for (const id of ids) if ((await change(id)).kind === 'changed') done++
      }
      return {
        matched: ids.length,
        changed: done,
        ...(page.nextAfter !== undefined ? { nextCursor: encodeCursor(page.nextAfter) } : {}),
      }
    }
  app.post(service('CancelMany'), bulk('cancel', cancel))
  app.post(service('RedriveMany'), bulk('redrive', redrive))

  // A signal travels to the call as a result without a child (Store.signalCall).
  app.post(service('Signal'), async (request) => {
    const { dispatchId, name, payload } = parseSignal(request.body)
    if (nestedDeeperThan(payload, MAX_JSON_DEPTH)) {
      throw new ConnectRefusal('invalid_argument', `the payload is nested deeper than ${MAX_JSON_DEPTH} levels`)
    }
    const signal = { '@type': SIGNAL_TYPE_URL, name, ...(payload === undefined ? {} : { value: payload }) }
    const result = await store.signalCall(dispatchId, signal, options.now())
    if (result.kind === 'changed') {
      events.notify([dispatchId])
      parts.onNewWork()
    }
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

  dashboard?.register(app)

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
