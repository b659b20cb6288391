import type { ResolvedRetryPolicy } from '../calls/retryPolicy.js'

/**
 * The wait before retrying after attempt number `attempt` (1-based): exponential with full jitter,
 * uniform in [0, min(max, initial * multiplier^(attempt-1))). Full jitter spreads the retries of
 * calls that failed together (an endpoint restart) instead of bringing them back in one wave
 * (docs/protocol.md §10).
 */
export function backoffDelay(policy: ResolvedRetryPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** (attempt - 1))
  return Math.floor(random() * cap)
}
