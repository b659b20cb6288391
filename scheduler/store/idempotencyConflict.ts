import { createHash } from 'node:crypto'
import type { AnyMessage } from 'dispatch-functions/protocol'

/**
 * Thrown by `Store.insertCalls` (and nothing of the batch is stored) when a call reuses an idempotency
 * key of its function and endpoint, within the window, with a different input than the first call's.
 */
export class IdempotencyConflict extends Error {
  constructor(
    /** The call's index in the batch given to `insertCalls`. */
    readonly index: number,
    readonly key: string,
    readonly functionName: string,
    readonly endpoint: string,
    /** The call that holds the key. */
    readonly dispatchId: string,
  ) {
    super(
      `the idempotency key ${JSON.stringify(key)} of function ${functionName} at ${endpoint} was used by call ${dispatchId} with a different input`,
    )
    this.name = 'IdempotencyConflict'
  }
}

/** What an idempotency key remembers of its first call's input: a SHA-256 of its JSON. */
export function inputDigest(input: AnyMessage | undefined): string {
  return createHash('sha256')
    .update(input === undefined ? '' : JSON.stringify(input))
    .digest('base64url')
}
