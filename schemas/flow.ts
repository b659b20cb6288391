import { type Static, Type } from 'typebox'

// Flow control (docs/flow-control.md): what a dispatch function declares next to its code and the
// client sends with each of its calls (docs/protocol.md §5). One set of bounds for the generator
// that checks a declaration, the client that sends it and the scheduler that enforces it.

/** The lowest and highest priority: 0 is the default, each level is a head start (docs/flow-control.md). */
export const MIN_PRIORITY = 0
export const MAX_PRIORITY = 100

/** The largest per-key concurrency a function can declare. */
export const MAX_KEY_CONCURRENCY = 10_000

/** The most starts a rate limit allows per period. */
export const MAX_RATE_LIMIT = 1_000_000

/** A rate limit's shortest and longest period, in ms: 1 second to 1 day. */
export const MIN_RATE_PERIOD_MS = 1_000
export const MAX_RATE_PERIOD_MS = 86_400_000

/** A debounce window's and its max wait's shortest and longest length, in ms: 1 ms to 1 day. */
export const MIN_DEBOUNCE_MS = 1
export const MAX_DEBOUNCE_MS = 86_400_000

/** The longest flow key (the value a key path reads from the input), in characters. */
export const MAX_FLOW_KEY_LENGTH = 256

/** A call's priority: an integer from {@link MIN_PRIORITY} to {@link MAX_PRIORITY}. */
export const Priority = Type.Integer({ minimum: MIN_PRIORITY, maximum: MAX_PRIORITY })

/**
 * The function's declared flow options as one call carries them, keys already read from its input.
 * Closed (no other field): a scheduler that does not know an option refuses the call instead of
 * running it without the limit its author declared.
 */
export const FlowOptions = Type.Object(
  {
    /** The function's declared priority; the call's own `priority` wins over it. */
    priority: Type.Optional(Priority),
    /** At most `limit` calls of this function running at once per `key` (all its calls together without a key). */
    concurrency: Type.Optional(
      Type.Object(
        {
          limit: Type.Integer({ minimum: 1, maximum: MAX_KEY_CONCURRENCY }),
          key: Type.Optional(Type.String({ maxLength: MAX_FLOW_KEY_LENGTH })),
        },
        { additionalProperties: false },
      ),
    ),
    /** At most `limit` starts (attempts) of this function per `periodMs` per `key` (all its calls together without a key). */
    rateLimit: Type.Optional(
      Type.Object(
        {
          limit: Type.Integer({ minimum: 1, maximum: MAX_RATE_LIMIT }),
          periodMs: Type.Integer({ minimum: MIN_RATE_PERIOD_MS, maximum: MAX_RATE_PERIOD_MS }),
          key: Type.Optional(Type.String({ maxLength: MAX_FLOW_KEY_LENGTH })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Calls with the same `key` within `windowMs` of each other collapse into one pending call, due
     * `windowMs` after the last of them (at most `maxMs` after the first), with the last input (`keep`
     * `last`, the default) or the first (`first`).
     */
    debounce: Type.Optional(
      Type.Object(
        {
          windowMs: Type.Integer({ minimum: MIN_DEBOUNCE_MS, maximum: MAX_DEBOUNCE_MS }),
          key: Type.Optional(Type.String({ maxLength: MAX_FLOW_KEY_LENGTH })),
          keep: Type.Optional(Type.Union([Type.Literal('last'), Type.Literal('first')])),
          maxMs: Type.Optional(Type.Integer({ minimum: MIN_DEBOUNCE_MS, maximum: MAX_DEBOUNCE_MS })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type FlowOptions = Static<typeof FlowOptions>
