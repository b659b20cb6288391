import { dspError } from '../../schemas/errors/dspError.js'
import { type FlowOptions, MAX_FLOW_KEY_LENGTH } from '../../schemas/flow.js'

/**
 * Where a flow key is read in a call's arguments: argument `arg`, then the fields of `path`
 * (`key=order.customerId` → the `order` parameter's `customerId`).
 */
export interface FlowKeyPath {
  readonly arg: number
  readonly path: readonly string[]
}

/**
 * The flow options a dispatch function declares with JSDoc tags (`@priority 5`), as `dispatch gen`
 * writes them into the route table and the client (docs/flow-control.md). The client sends them
 * with each call (docs/protocol.md §5); the scheduler enforces them, its config able to override them.
 */
export interface FlowDeclaration {
  /** `@priority N`: the head start of this function's calls in their queue, 0 (default) to 100. */
  readonly priority?: number
  /** `@concurrency N key=path`: at most `limit` calls running at once per key (per function without a key). */
  readonly concurrency?: { readonly limit: number; readonly key?: FlowKeyPath }
  /** `@rateLimit N/period key=path`: at most `limit` starts per `periodMs` per key (per function without a key). */
  readonly rateLimit?: { readonly limit: number; readonly periodMs: number; readonly key?: FlowKeyPath }
  /**
   * `@debounce 5s key=path keep=last max=1m`: calls with one key within `windowMs` collapse into one,
   * with the last input (or the first), due at most `maxMs` after the first (per function without a key).
   */
  readonly debounce?: {
    readonly windowMs: number
    readonly key?: FlowKeyPath
    readonly keep?: 'last' | 'first'
    readonly maxMs?: number
  }
  /** `@schedule "cron" tz=Zone`: the scheduler runs the function on it (never sent with a call). */
  readonly schedule?: ScheduleDeclaration
}

/**
 * `@schedule "0 3 * * *" tz=Europe/Paris missed=catchup:5 input=[...]` as `dispatch gen` writes it:
 * a scheduler given the route table (or the schedules file `dispatch run` reads) runs the function on
 * it, one call per tick (docs/flow-control.md, "Schedules").
 */
export interface ScheduleDeclaration {
  /** A cron expression: 5 fields, or 6 with seconds first. */
  readonly cron: string
  /** The IANA time zone the expression is read in; UTC when absent. */
  readonly timezone?: string
  /** After downtime: `skip` the missed ticks (the default), or `catchup` on the latest `catchUp` of them. */
  readonly missed?: 'skip' | 'catchup'
  readonly catchUp?: number
  /** The arguments of each tick's call; none when absent. */
  readonly input?: readonly unknown[]
}

/** What a generated client knows of one function: its arity and, when it declares any, its flow options. */
export interface FunctionDescriptor {
  readonly arity: number
  readonly flow?: FlowDeclaration
}

/**
 * The key a call's arguments give: a string as is, a number or boolean as text; a missing value
 * (or null) is the empty key, which all such calls share. An object or array is refused: a key
 * names one thing.
 */
export function readFlowKey(fn: string, args: readonly unknown[], key: FlowKeyPath): string {
  let value: unknown = args[key.arg]
  for (const field of key.path) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[field] : undefined
  }
  if (value === undefined || value === null) return ''
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    const text = String(value)
    if (text.length <= MAX_FLOW_KEY_LENGTH) return text
  }
  throw dspError(
    'DSP2011',
    `${fn}: the flow key (argument ${key.arg}${key.path.map((f) => `.${f}`).join('')}) is ${typeof value === 'string' ? `${value.length} characters long` : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`}`,
    {
      hint: `a key is a string (at most ${MAX_FLOW_KEY_LENGTH} characters), a number or a boolean: point key= at such a field (docs/flow-control.md)`,
    },
  )
}

/** The declaration as one call carries it (docs/protocol.md §5); undefined when it declares nothing. */
export function toFlowOptions(
  fn: string,
  flow: FlowDeclaration | undefined,
  args: readonly unknown[],
): FlowOptions | undefined {
  if (flow === undefined) return undefined
  const wire: FlowOptions = {}
  if (flow.priority !== undefined) wire.priority = flow.priority
  if (flow.concurrency !== undefined) {
    const { limit, key } = flow.concurrency
    wire.concurrency = key === undefined ? { limit } : { limit, key: readFlowKey(fn, args, key) }
  }
  if (flow.rateLimit !== undefined) {
    const { limit, periodMs, key } = flow.rateLimit
    wire.rateLimit = key === undefined ? { limit, periodMs } : { limit, periodMs, key: readFlowKey(fn, args, key) }
  }
  if (flow.debounce !== undefined) wire.debounce = toDebounceOption(fn, flow.debounce, args)
  return Object.keys(wire).length === 0 ? undefined : wire
}

/** A `@debounce` declaration as one call carries it: its key read from the arguments. */
function toDebounceOption(
  fn: string,
  debounce: NonNullable<FlowDeclaration['debounce']>,
  args: readonly unknown[],
): NonNullable<FlowOptions['debounce']> {
  const { windowMs, key, keep, maxMs } = debounce
  const wire: NonNullable<FlowOptions['debounce']> = { windowMs }
  if (key !== undefined) wire.key = readFlowKey(fn, args, key)
  if (keep !== undefined) wire.keep = keep
  if (maxMs !== undefined) wire.maxMs = maxMs
  return wire
}
