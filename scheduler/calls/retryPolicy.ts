import type { EndpointAllowList } from './endpointAllowList.js'

/** How one function's calls are attempted. Every field is optional; unset ones fall back to the scheduler's. */
export interface RetryPolicy {
  /** Attempts before a call fails for good (a call's own `maxAttempts` wins). Default 10. */
  readonly maxAttempts?: number
  /** The backoff cap of the first retry, in ms: the wait is uniform in [0, cap) (full jitter). Default 1000. */
  readonly initialBackoffMs?: number
  /** The cap grows by this factor per attempt. Default 2. */
  readonly backoffMultiplier?: number
  /** The cap never exceeds this, in ms. Default 300000 (5 minutes). */
  readonly maxBackoffMs?: number
  /** One attempt (request and response) may take this long, in ms, before it counts as STATUS_TIMEOUT. Default 60000. */
  readonly attemptTimeoutMs?: number
}

/**
 * What the scheduler's config sets for one function: its retry policy, and overrides of the flow
 * options it declares (docs/flow-control.md) for this deployment.
 */
export interface FunctionPolicy extends RetryPolicy {
  /** The priority of its calls (0 to 100), over the function's `@priority`; a call's own priority still wins. */
  readonly priority?: number
  /**
   * The per-key concurrency limit of its calls (1 to 10000), over the function's `@concurrency` limit;
   * for a function that declares none, a limit on all its calls together.
   */
  readonly concurrency?: number
  /**
   * The rate limit of its calls, over the function's `@rateLimit`: at most `limit` starts per
   * `periodMs` per key; for a function that declares none, a limit on all its calls together.
   */
  readonly rateLimit?: { readonly limit: number; readonly periodMs: number }
  /**
   * The debounce of its calls, over the function's `@debounce` (the key stays the declared one):
   * calls of one key within `windowMs` collapse into one, due at most `maxMs` after the first, with
   * the last input (`keep`, default `last`) or the first; for a function that declares none, all
   * its calls together.
   */
  readonly debounce?: DebouncePolicy
}

/** A debounce as the scheduler's config sets it (docs/flow-control.md). */
export interface DebouncePolicy {
  readonly windowMs: number
  readonly maxMs?: number
  readonly keep?: 'last' | 'first'
}

/** One priority level is worth this much waiting by default: 1 minute (docs/flow-control.md). */
export const DEFAULT_PRIORITY_STEP_MS = 60_000

/** A {@link RetryPolicy} with every field set. */
export type ResolvedRetryPolicy = Required<RetryPolicy>

export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = {
  maxAttempts: 10,
  initialBackoffMs: 1000,
  backoffMultiplier: 2,
  maxBackoffMs: 300_000,
  attemptTimeoutMs: 60_000,
}

/**
 * What accepting a call needs of the scheduler's options, whether the Dispatch API or a coroutine's
 * Poll made it: the retry policies and the endpoints allowed.
 */
export interface CallPolicies {
  readonly retry: ResolvedRetryPolicy
  readonly functions: Readonly<Record<string, FunctionPolicy>>
  /** Undefined: every endpoint is allowed. */
  readonly allowEndpoints: EndpointAllowList | undefined
  /** The head start one priority level gives a call, in ms. */
  readonly priorityStepMs: number
}

/** The policies of a scheduler started without options. */
export const DEFAULT_CALL_POLICIES: CallPolicies = {
  retry: DEFAULT_RETRY_POLICY,
  functions: {},
  allowEndpoints: undefined,
  priorityStepMs: DEFAULT_PRIORITY_STEP_MS,
}

/** Each function's policy merged over the defaults it was merged with, made once (the config is read-only). */
const merged = new WeakMap<
  FunctionPolicy,
  { readonly retry: ResolvedRetryPolicy; readonly policy: ResolvedRetryPolicy }
>()

/** The policy of one function: its overrides on top of the scheduler's defaults. */
export function policyFor(options: CallPolicies, functionName: string): ResolvedRetryPolicy {
  const own = options.functions[functionName]
  if (own === undefined) return options.retry
  // Asked for every attempt and every dispatched call: merged once per function, not each time.
  const known = merged.get(own)
  if (known !== undefined && known.retry === options.retry) return known.policy
  const policy = { ...options.retry, ...definedFields(own) }
  merged.set(own, { retry: options.retry, policy })
  return policy
}

/** The fields of `value` that are set. */
export function definedFields<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
