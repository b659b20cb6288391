import { MAX_AGE_S } from './components.js'

/** The default number of signatures a {@link ReplayCache} remembers. */
export const DEFAULT_REPLAY_CACHE_ENTRIES = 100_000

/**
 * The signatures of the requests an endpoint accepted within the signature window, so the same
 * signed bytes are run once: a second delivery of them is a replay. Memory is bounded: an entry is
 * dropped once its signature is too old to verify anyway, and past `maxEntries` the oldest entries
 * are dropped first (a replay of one of those would then be accepted: size the cache for the
 * requests of five minutes). One Map lookup and one insertion per request.
 *
 * @example
 * ```ts
 * const replays = new ReplayCache(100_000)
 * if (!replays.admit(signatureBytes, created, nowSeconds)) refuse()
 * ```
 */
export class ReplayCache {
  // Insertion order is arrival order, so the first entries are the oldest; values are the unix
  // second after which the signature is refused as too old, so its entry is no longer needed.
  private readonly seen = new Map<string, number>()

  constructor(readonly maxEntries: number = DEFAULT_REPLAY_CACHE_ENTRIES) {}

  /** How many signatures are remembered now. */
  get size(): number {
    return this.seen.size
  }

  /**
   * Records a verified signature; false when it was already recorded (a replay). `key` identifies
   * the signature bytes, `created` is its `created` parameter, `now` the verifier's clock (unix s).
   */
  admit(key: string, created: number, now: number): boolean {
    const seen = this.seen
    if (seen.has(key)) return false
    for (const [oldest, expires] of seen) {
      if (expires >= now && seen.size < this.maxEntries) break
      seen.delete(oldest)
    }
    seen.set(key, created + MAX_AGE_S)
    return true
  }
}
