import { DispatchError } from '../../schemas/errors/dispatchError.js'
import { dspError } from '../../schemas/errors/dspError.js'
import { isRetried, type Status } from '../../schemas/status.js'
import type { DurationInput } from '../client/callOptions.js'
import { toMilliseconds } from '../client/duration.js'
import { classifyError } from '../status/classifyError.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { type CallOutcome, failureOutcome, outputOutcome } from './journalOps.js'

/** What a step's `fn` is given on each attempt. */
export interface StepContext {
  /** 1 on the first attempt, 2 on the first retry, ... */
  readonly attempt: number
  /** Aborted when the attempt's `timeout` passes: hand it to `fetch` and friends. */
  readonly signal: AbortSignal
}

/** The body of a durable step. */
export type StepFunction<T> = (context: StepContext) => T | PromiseLike<T>

/** Retries and timeout of a durable step. */
export interface StepOptions {
  /** Attempts in all, the first included (default 3; 1 = no retry). */
  readonly attempts?: number
  /**
   * The wait before each retry, in the endpoint's process during the turn: exponential, with
   * jitter (uniform between half and all of it). Defaults: 100 ms, ×2, at most 5 s.
   */
  readonly backoff?: {
    readonly initial?: DurationInput
    readonly multiplier?: number
    readonly max?: DurationInput
  }
  /**
   * Whether an error is retried (while attempts remain). Default: when its status is a retried one
   * (docs/protocol.md §9.1), as the endpoint would classify it with the plugin's classifiers.
   */
  readonly retry?: (error: unknown, status: Status) => boolean
  /** Each attempt's limit: a slower attempt fails with a `TimeoutError` (`STATUS_TIMEOUT`, retried). */
  readonly timeout?: DurationInput
}

/** A step's options, checked and in milliseconds. */
export interface StepPlan {
  readonly attempts: number
  readonly initialMs: number
  readonly multiplier: number
  readonly maxMs: number
  readonly timeoutMs: number | undefined
  readonly retry: ((error: unknown, status: Status) => boolean) | undefined
}

/** How a step ended: its outcome as the journal keeps it, after how many runs of `fn`. */
export interface StepRun {
  readonly outcome: CallOutcome
  readonly attempts: number
}

function invalid(name: string, what: string): never {
  throw dspError('DSP2261', `step(${JSON.stringify(name)}): ${what}`)
}

/** Checks `step(name, fn, options)`; throws DSP2261 (DSP2101 for a malformed duration). */
export function stepPlan(name: unknown, fn: unknown, options: StepOptions = {}): StepPlan {
  if (typeof name !== 'string' || name === '') invalid(String(name), 'the name must be a non-empty string')
  if (typeof fn !== 'function') invalid(name, 'fn must be a function')
  const attempts = options.attempts ?? 3
  if (!Number.isInteger(attempts) || attempts < 1) invalid(name, `attempts must be an integer >= 1, not ${attempts}`)
  const multiplier = options.backoff?.multiplier ?? 2
  if (!Number.isFinite(multiplier) || multiplier < 1)
    invalid(name, `backoff.multiplier must be >= 1, not ${multiplier}`)
  if (options.retry !== undefined && typeof options.retry !== 'function') invalid(name, 'retry must be a function')
  const timeoutMs = options.timeout === undefined ? undefined : toMilliseconds(options.timeout, `step ${name} timeout`)
  if (timeoutMs === 0) invalid(name, 'timeout must be more than 0')
  return {
    attempts,
    initialMs: toMilliseconds(options.backoff?.initial ?? 100, `step ${name} backoff.initial`),
    multiplier,
    maxMs: toMilliseconds(options.backoff?.max ?? 5000, `step ${name} backoff.max`),
    timeoutMs,
    retry: options.retry,
  }
}

/** The type and message the journal keeps of what a step threw. */
function describeError(thrown: unknown): { type: string; message: string } {
  try {
    if (thrown instanceof Error) return { type: String(thrown.name || 'Error'), message: String(thrown.message) }
    const type =
      thrown === null ? 'null' : typeof thrown === 'object' ? (thrown.constructor?.name ?? 'Object') : typeof thrown
    return { type, message: String(thrown) }
  } catch {
    return { type: 'Error', message: 'the step threw a value that cannot be described' }
  }
}

// What the step returned, as the journal keeps it: so the first run sees exactly what a replay will
// (a Date becomes its string there too). Undefined stays undefined.
function toJson(name: string, value: unknown): unknown {
  if (value === undefined) return undefined
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    throw dspError('DSP2262', `step ${name} returned a value that is not JSON: ${(error as Error).message}`)
  }
  if (text === undefined) throw dspError('DSP2262', `step ${name} returned a value that is not JSON (${typeof value})`)
  return JSON.parse(text)
}

function attemptOnce<T>(name: string, fn: StepFunction<T>, attempt: number, timeoutMs: number | undefined): Promise<T> {
  const controller = new AbortController()
  const run = new Promise<T>((resolve) => resolve(fn({ attempt, signal: controller.signal })))
  if (timeoutMs === undefined) return run
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DOMException(
        `step ${name} took longer than ${timeoutMs} ms (attempt ${attempt})`,
        'TimeoutError',
      )
      controller.abort(error)
      reject(error)
    }, timeoutMs)
  })
  // The attempt that timed out may still settle later; the race already handled its rejection.
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer))
}

function backoffMs(plan: StepPlan, attempt: number): number {
  const full = Math.min(plan.maxMs, plan.initialMs * plan.multiplier ** (attempt - 1))
  return full / 2 + (Math.random() * full) / 2
}

/**
 * Runs a step's `fn` until it returns, throws an error that is not retried, or used up its
 * attempts: the outcome the journal keeps. Never throws.
 */
export async function runStep<T>(
  name: string,
  fn: StepFunction<T>,
  plan: StepPlan,
  classifiers?: ReadonlyMap<ErrorClass, ErrorClassifier['status']>,
): Promise<StepRun> {
  for (let attempt = 1; ; attempt++) {
    let value: T
    try {
      value = await attemptOnce(name, fn, attempt, plan.timeoutMs)
    } catch (error) {
      const status = classifyError(error, classifiers === undefined ? {} : { classifiers })
      let retried: boolean
      try {
        retried = plan.retry === undefined ? isRetried(status) : plan.retry(error, status) === true
      } catch {
        retried = false
      }
      // A durable call inside the step is a mistake in the code: the same on every attempt.
      if (error instanceof DispatchError && error.code === 'DSP2263') retried = false
      if (!retried || attempt >= plan.attempts)
        return { outcome: failureOutcome(describeError(error)), attempts: attempt }
      const wait = backoffMs(plan, attempt)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      continue
    }
    try {
      const json = toJson(name, value)
      return { outcome: json === undefined ? {} : outputOutcome(json), attempts: attempt }
    } catch (error) {
      return { outcome: failureOutcome(describeError(error)), attempts: attempt }
    }
  }
}
