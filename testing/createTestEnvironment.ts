import type { ErrorClassifier, Route, Routes } from 'dispatch-functions'
import { type DurationInput, generateSigningKeyPair, toMilliseconds, useClock } from 'dispatch-functions/internal'
import type { AttemptInfo, CallInfo, CallState } from 'dispatch-functions/protocol'
import { dspError, MAX_DURATION_MS, TERMINAL_STATES } from 'dispatch-functions/protocol'
import { toAttemptInfo, toCallInfo } from '../scheduler/api/toCallInfo.js'
import type { RetryPolicy } from '../scheduler/calls/retryPolicy.js'
import { endpointKey, type InProcessRun, inProcessEndpoint } from '../scheduler/delivery/inProcessEndpoint.js'
import { InProcessTransport } from '../scheduler/delivery/inProcessTransport.js'
import { type SchedulerControl, startSchedulerWith } from '../scheduler/startScheduler.js'
import { openSqliteStore } from '../scheduler/store/sqliteStore.js'

/** Options of {@link createTestEnvironment}. */
export interface TestEnvironmentOptions<R extends Routes> {
  /** The route table of the functions under test (`routes.gen.ts`). */
  readonly routes: R
  /** Where the fake clock starts (default: the real time when the environment is created). */
  readonly startTime?: Date | number
  /** The URL the environment's functions are known by (default `http://dispatch-test.localhost`). */
  readonly endpoint?: string
  /** Retry policy of every function (the scheduler's defaults otherwise). */
  readonly retry?: RetryPolicy
  /** Retry policies per function name. */
  readonly functions?: Readonly<Record<string, RetryPolicy>>
  /** Statuses for error classes of your own, as the endpoint's `classifiers` option. */
  readonly classifiers?: readonly ErrorClassifier[]
  /** How long {@link TestEnvironment.runUntilIdle} waits in real time for functions to settle (default 10 s). */
  readonly idleTimeoutMs?: number
}

/** A call as the environment reports it: the scheduler's view, its decoded output, attempts and children. */
export interface TestCall {
  readonly dispatchId: string
  readonly function: string
  readonly state: CallState
  /** The status of the last attempt, once there was one. */
  readonly status: CallInfo['status']
  /** The function's return value, once it succeeded. */
  readonly output: unknown
  /** The error of the last failed attempt, if any. */
  readonly error: CallInfo['error']
  /** Every attempt, oldest first: status, outcome and error of each. */
  readonly attempts: readonly AttemptInfo[]
  /** The calls a coroutine made, each with its own attempts and children. */
  readonly children: readonly TestCall[]
  /** Everything the scheduler's CallService says of the call. */
  readonly info: CallInfo
}

/** A mocked function: its recorded calls (the arguments of each attempt), and a way to remove it. */
export interface Mock {
  /** The arguments of every attempt that reached the mock, in order. */
  readonly calls: readonly (readonly unknown[])[]
  /** Puts the real function (or nothing, for another service's function) back. */
  restore(): void
}

type Handler = (...args: never[]) => unknown
/** A stand-in for a function: same parameters; may return the output or a promise of it, or throw. */
export type MockImplementation<F extends Handler> = (
  ...args: Parameters<F>
) => Awaited<ReturnType<F>> | Promise<Awaited<ReturnType<F>>>

/** The test environment: a scheduler in this process with its own clock, serving `routes` in-process. */
export interface TestEnvironment<R extends Routes = Routes> {
  /** The scheduler's API URL (`DISPATCH_API_URL` while the environment is open). */
  readonly url: string
  /** The URL the environment's own functions are known by (`DISPATCH_ENDPOINT_URL`). */
  readonly endpoint: string
  /** The fake clock's time. */
  now(): Date
  /**
   * Replaces a function of the route table for this environment; calls to it are recorded. A mock
   * may throw (e.g. `TemporaryError`) to exercise retries.
   */
  mock<K extends keyof R & string>(name: K, implementation: MockImplementation<R[K]['handler']>): Mock
  /** Mocks a function of another service, the one reached at `options.endpoint`. */
  mock(name: string, implementation: (...args: any[]) => unknown, options: { readonly endpoint: string }): Mock
  /**
   * Moves the clock forward by `duration`, running in order everything that falls due on the way:
   * retries after their backoff, delayed calls, durable sleeps, expirations.
   */
  advanceTime(duration: DurationInput): Promise<void>
  /** Runs everything due now, without moving the clock, until nothing is left to run. */
  runUntilIdle(): Promise<void>
  /** Runs what is due, then reports the call; DSP5004 when it is still unfinished at the clock's time. */
  waitFor(dispatchId: string): Promise<TestCall>
  /** The call as it stands now (nothing is run). */
  inspect(dispatchId: string): Promise<TestCall>
  /** Stops the scheduler, and restores the `DISPATCH_*` variables it set. */
  close(): Promise<void>
}

const DEFAULT_ENDPOINT = 'http://dispatch-test.localhost'
const VARIABLES = ['DISPATCH_API_URL', 'DISPATCH_API_KEY', 'DISPATCH_ENDPOINT_URL'] as const
/** Calls a report lists as children, per call (a coroutine with more is reported in part). */
const MAX_CHILDREN = 1000

let active: { description: string } | undefined

function durationMs(value: DurationInput, what: string): number {
  return toMilliseconds(value, what)
}

function startAt(value: Date | number | undefined): number {
  if (value === undefined) return Date.now()
  const ms = value instanceof Date ? value.getTime() : value
  if (!Number.isFinite(ms)) {
    throw dspError('DSP5006', `startTime is ${String(value)}, not an instant`, {
      hint: 'pass a Date or milliseconds since the epoch, or leave startTime out to start at the real time',
    })
  }
  return ms
}

/**
 * Starts a test environment: the real scheduler (its validation, statuses, retries with backoff,
 * expiration, idempotency keys, fairness, coroutines, cancellation) on an in-memory SQLite store,
 * delivering to the route table in this process, with time under the test's control. While it is
 * open, `DISPATCH_API_URL`, `DISPATCH_API_KEY` and `DISPATCH_ENDPOINT_URL` point at it, so the
 * generated client works unchanged. One environment at a time per process (DSP5001).
 *
 * @example
 * ```ts
 * const env = await createTestEnvironment({ routes })
 * env.mock('getUser', async (id) => ({ id, name: 'Ada' }))
 * const id = await dispatchClient.notifyAll(['u1', 'u2'])
 * await env.advanceTime('10m')
 * const call = await env.waitFor(id)
 * await env.close()
 * ```
 */
export async function createTestEnvironment<R extends Routes>(
  options: TestEnvironmentOptions<R>,
): Promise<TestEnvironment<R>> {
  if (options === undefined || options.routes === undefined || typeof options.routes !== 'object') {
    throw dspError('DSP5002', 'createTestEnvironment needs a route table: { routes }')
  }
  if (active !== undefined) {
    throw dspError('DSP5001', `a test environment is already open in this process (${active.description})`)
  }
  // Reserved before the first await: two environments created at once cannot both pass the check.
  const reservation = { description: 'starting' }
  active = reservation
  try {
    return await openEnvironment(options, reservation)
  } catch (error) {
    if (active === reservation) active = undefined
    throw error
  }
}

async function openEnvironment<R extends Routes>(
  options: TestEnvironmentOptions<R>,
  reservation: { description: string },
): Promise<TestEnvironment<R>> {
  const ownEndpoint = endpointKey(options.endpoint ?? DEFAULT_ENDPOINT)
  let clock = startAt(options.startTime)
  // Timers of the runtime (a call's expiration signal) on this clock: they fire as the clock moves.
  const timers = new Set<{ readonly at: number; readonly fire: () => void }>()
  const fireTimers = () => {
    for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
      if (timer.at > clock) break
      timers.delete(timer)
      timer.fire()
    }
  }
  const setClock = (to: number) => {
    clock = to
    fireTimers()
  }
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000

  // Mocks by endpoint, then function name; the environment's own functions are looked up on each run.
  const mocks = new Map<string, Map<string, { fn: (...args: unknown[]) => unknown; calls: unknown[][] }>>()
  const mocksOf = (endpoint: string) => {
    let own = mocks.get(endpoint)
    if (own === undefined) {
      own = new Map()
      mocks.set(endpoint, own)
    }
    return own
  }
  const ownMocks = mocksOf(ownEndpoint)
  const wrapped: Record<string, Route> = {}
  for (const [name, route] of Object.entries(options.routes)) {
    const real = route.handler as (...args: unknown[]) => unknown
    wrapped[name] = {
      ...route,
      handler: (...args: unknown[]) => {
        const mock = ownMocks.get(name)
        if (mock === undefined) return real(...args)
        mock.calls.push(args)
        return mock.fn(...args)
      },
    }
  }
  // The same endpoint core as functions run in a scheduler's own process (`inProcessEndpoint`).
  const endpointOf = (routes: Routes, url: string): InProcessRun =>
    inProcessEndpoint(routes, {
      endpoint: url,
      ...(options.classifiers === undefined ? {} : { classifiers: options.classifiers }),
    }).run
  const own = endpointOf(wrapped, ownEndpoint)
  // Another service's endpoint serves its mocks, with any input; rebuilt when its mocks change.
  const foreign = new Map<string, InProcessRun>()
  const foreignEndpoint = (url: string): InProcessRun | undefined => {
    const its = mocks.get(url)
    if (its === undefined || its.size === 0) return undefined
    let endpoint = foreign.get(url)
    if (endpoint === undefined) {
      const routes: Record<string, Route> = {}
      for (const [name, mock] of its) {
        routes[name] = {
          name,
          input: { type: 'array' },
          output: undefined,
          source: 'mock',
          handler: (...args: unknown[]) => {
            mock.calls.push(args)
            return mock.fn(...args)
          },
        }
      }
      endpoint = endpointOf(routes, url)
      foreign.set(url, endpoint)
    }
    return endpoint
  }
  const transport = new InProcessTransport(
    (url) => {
      const key = endpointKey(url)
      return key === ownEndpoint ? own : foreignEndpoint(key)
    },
    undefined,
    (url, fn) =>
      `nothing serves ${url} in the test environment: mock ${fn} with env.mock('${fn}', implementation, { endpoint: '${url}' })`,
  )

  const store = openSqliteStore(':memory:')
  let control: SchedulerControl | undefined
  const scheduler = await startSchedulerWith(
    {
      store,
      dbPath: ':memory:',
      apiKey: `dsp_test_${Math.random().toString(36).slice(2)}`,
      signingKey: generateSigningKeyPair().privateKeyPem,
      host: '127.0.0.1',
      port: 0,
      logger: false,
      retention: false,
      backPressure: false,
      // Attempts still running at close() are abandoned at once, not waited for in real time.
      shutdownGraceMs: 0,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.functions === undefined ? {} : { functions: options.functions }),
    },
    {
      now: () => clock,
      transport,
      // The routes' `@schedule` ticks on this clock, its calls going to the routes like any other.
      scheduledRoutes: { routes: options.routes, endpoint: ownEndpoint },
      control: (c) => {
        control = c
      },
    },
  ).catch(async (error: unknown) => {
    await store.close()
    throw error
  })
  reservation.description = scheduler.url
  // The functions run here: their durable timers, journaled now() and expiration signals follow the same clock.
  const restoreClock = useClock({
    now: () => clock,
    timer: (at, fire) => {
      const timer = { at, fire }
      timers.add(timer)
      return () => timers.delete(timer)
    },
  })
  const ours: Record<(typeof VARIABLES)[number], string> = {
    DISPATCH_API_URL: scheduler.url,
    DISPATCH_API_KEY: scheduler.apiKey,
    DISPATCH_ENDPOINT_URL: ownEndpoint,
  }
  const saved = new Map(VARIABLES.map((name) => [name, process.env[name]] as const))
  for (const name of VARIABLES) process.env[name] = ours[name]
  let closed = false

  const usable = (what: string) => {
    if (closed) {
      throw dspError('DSP5003', `${what}: the test environment is closed`)
    }
  }

  /**
   * Nothing is due at the clock's time and nothing runs — or, `waiting` for the clock, every call
   * that runs is an attempt in flight (which may be waiting for a runtime timer of this clock).
   */
  const idle = async (waiting: boolean): Promise<boolean> => {
    if (scheduler.inFlight > 0 && !waiting) return false
    const next = await store.nextDueAt()
    if (next !== undefined && next <= clock) return false
    // A claim just committed is running before its attempt counts as in flight.
    if (!waiting) return (await store.listCalls({ state: 'running', limit: 1 })).calls.length === 0
    const running = (await store.countCalls()).filter((c) => c.state === 'running').reduce((n, c) => n + c.count, 0)
    return running === scheduler.inFlight
  }

  const runUntilIdle = (): Promise<void> => settle(false)

  const settle = async (waiting: boolean): Promise<void> => {
    usable('runUntilIdle')
    const deadline = Date.now() + idleTimeoutMs
    // Idle twice in a row, a turn of the event loop apart: an attempt just claimed is then in flight.
    // Attempts waiting for a runtime timer get 50 turns to settle before the clock moves past them.
    for (let quiet = 0, spins = 0; quiet < (waiting ? 50 : 2); spins++) {
      control?.wake()
      await new Promise<void>((resolve) => (spins < 50 ? setImmediate(resolve) : setTimeout(resolve, 1)))
      if (await idle(waiting)) quiet++
      else quiet = 0
      if (Date.now() > deadline) {
        const counts = await store.countCalls()
        const running = counts.filter((c) => c.state === 'running' && c.count > 0)
        const due = await store.nextDueAt()
        throw dspError(
          'DSP5005',
          `the test environment did not settle within ${idleTimeoutMs} ms of real time (running: ${running.map((c) => `${c.function} ×${c.count}`).join(', ') || 'none'}; attempts in flight: ${scheduler.inFlight}${due !== undefined && due <= clock ? '; calls due now are not being claimed' : ''})`,
        )
      }
    }
  }

  // Reports read the store directly (as the API's Get and List would answer): no HTTP per call.
  const report = async (dispatchId: string, depth = 0): Promise<TestCall> => {
    const stored = await store.getCall(dispatchId)
    if (stored === undefined) {
      throw dspError('DSP5007', `no call ${dispatchId} in the test environment`)
    }
    const call = toCallInfo(stored)
    const attempts = (await store.listAttempts(dispatchId)).map(toAttemptInfo)
    const children: TestCall[] = []
    if (depth < 20) {
      let after: string | undefined
      do {
        const page = await store.listCalls({ parentDispatchId: dispatchId, limit: 1000, ...(after ? { after } : {}) })
        for (const child of page.calls) children.push(await report(child.dispatchId, depth + 1))
        after = page.nextAfter
      } while (after !== undefined && children.length < MAX_CHILDREN)
    }
    // In the order they were made: dispatch ids increase within a process (a List is newest first).
    children.sort((a, b) => (a.dispatchId < b.dispatchId ? -1 : a.dispatchId > b.dispatchId ? 1 : 0))
    return {
      dispatchId: call.dispatchId,
      function: call.function,
      state: call.state,
      status: call.status,
      output: call.output?.value,
      error: call.error,
      attempts,
      children,
      info: call,
    }
  }

  return {
    url: scheduler.url,
    endpoint: ownEndpoint,
    now: () => new Date(clock),
    mock(name: string, implementation: (...args: any[]) => unknown, mockOptions?: { readonly endpoint: string }): Mock {
      usable('mock')
      const endpoint = mockOptions?.endpoint === undefined ? ownEndpoint : endpointKey(mockOptions.endpoint)
      if (endpoint === ownEndpoint && !(name in options.routes)) {
        throw dspError('DSP5002', `mock('${name}'): the route table has no function ${name}`, {
          hint: `mock one of ${Object.keys(options.routes).sort().join(', ') || '(none)'}, or pass { endpoint } to mock another service's function`,
        })
      }
      if (typeof implementation !== 'function') {
        throw dspError('DSP5002', `mock('${name}'): the implementation is not a function`)
      }
      const entry = { fn: implementation as (...args: unknown[]) => unknown, calls: [] as unknown[][] }
      mocksOf(endpoint).set(name, entry)
      foreign.delete(endpoint)
      return {
        calls: entry.calls,
        restore: () => {
          if (mocksOf(endpoint).get(name) === entry) mocksOf(endpoint).delete(name)
          foreign.delete(endpoint)
        },
      }
    },
    async advanceTime(duration: DurationInput): Promise<void> {
      usable('advanceTime')
      const ms = durationMs(duration, 'advanceTime')
      if (ms > MAX_DURATION_MS) {
        throw dspError('DSP5008', `advanceTime(${JSON.stringify(duration)}) is more than 3650 days at once`)
      }
      const target = clock + ms
      // Step by step to each instant something falls due (a call, or a runtime timer), in order.
      for (;;) {
        // Attempts still in flight may be waiting for this clock (an expiration signal): go on past them.
        await settle(timers.size > 0)
        const dueCall = await store.nextDueAt()
        const dueTimer = Math.min(...[...timers].map((timer) => timer.at))
        // A route's `@schedule` ticks on this clock too: each tick is an instant something falls due.
        const dueTick = Math.min(...(await store.listSchedules()).map((s) => s.nextTickAt ?? Number.POSITIVE_INFINITY))
        const next = Math.min(dueCall ?? Number.POSITIVE_INFINITY, dueTimer, dueTick)
        if (next > target) break
        setClock(Math.max(clock, next))
      }
      setClock(target)
      await runUntilIdle()
    },
    runUntilIdle,
    async waitFor(dispatchId: string): Promise<TestCall> {
      usable('waitFor')
      await runUntilIdle()
      const call = await report(dispatchId)
      if (!TERMINAL_STATES.has(call.state)) {
        const next = await store.nextDueAt()
        throw dspError(
          'DSP5004',
          `call ${dispatchId} (${call.function}) is still ${call.state} at ${new Date(clock).toISOString()}${next === undefined ? '' : `; the next thing due is at ${new Date(next).toISOString()}`}`,
        )
      }
      return call
    },
    async inspect(dispatchId: string): Promise<TestCall> {
      usable('inspect')
      return report(dispatchId)
    },
    async close(): Promise<void> {
      if (closed) return
      closed = true
      try {
        try {
          await scheduler.close()
        } finally {
          await store.close()
        }
      } finally {
        // Only what still holds this environment's values is put back.
        for (const [name, value] of saved) {
          if (process.env[name] !== ours[name]) continue
          if (value === undefined) delete process.env[name]
          else process.env[name] = value
        }
        timers.clear()
        restoreClock()
        if (active === reservation) active = undefined
      }
    },
  }
}
