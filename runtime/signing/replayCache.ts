import { MAX_AGE_S, MAX_CLOCK_SKEW_S } from './components.js'

/** The default number of signatures a {@link ReplayCache} remembers. */
export const DEFAULT_REPLAY_CACHE_ENTRIES = 100_000

// A signature accepted now is refused as too old once its `created` (at most the skew ahead of
// now) is MAX_AGE_S old: remembered that long, it is remembered for as long as it could verify.
const WINDOW_S = MAX_AGE_S + MAX_CLOCK_SKEW_S

/**
 * The signatures of the requests an endpoint accepted within the signature window, so the same
 * signed bytes are run once: a second delivery of them is a replay. Two generations of a Set: new
 * signatures go to the current one, lookups check both, and the older is dropped whole when the
 * current one is a window old or holds half of `maxEntries`. So every operation is one or two Set
 * lookups and one insertion, memory is bounded by `maxEntries`, and a signature is remembered for
 * at least its window unless more than `maxEntries / 2` requests arrive within one window (then the
 * oldest are forgotten early, and a replay of one of them would be accepted: size the cache for the
 * requests of five minutes).
 *
 * @example
 * ```ts
 * const replays = new ReplayCache(100_000)
 * if (!replays.admit(signatureKey, nowSeconds)) refuse()
 * ```
 */
export class ReplayCache {
  private current = new Set<string>()
  private previous = new Set<string>()
  private rotateAt = Number.NEGATIVE_INFINITY
  private readonly generationSize: number

  constructor(readonly maxEntries: number = DEFAULT_REPLAY_CACHE_ENTRIES) {
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2))
  }

  /** How many signatures are remembered now. */
  get size(): number {
    return this.current.size + this.previous.size
  }

  /**
   * Records a verified signature; false when it was already recorded (a replay). `key` identifies
   * the signature bytes, `now` is the verifier's clock (unix s).
   */
  admit(key: string, now: number): boolean {
    if (this.current.has(key) || this.previous.has(key)) return false
    if (now >= this.rotateAt || this.current.size >= this.generationSize) {
      // Past a window since the current generation began, the previous one holds only signatures
      // too old to verify; past two, so does the current one.
      this.previous = now >= this.rotateAt + WINDOW_S ? new Set() : this.current
      this.current = new Set()
      this.rotateAt = now + WINDOW_S
    }
    this.current.add(key)
    return true
  }
}
