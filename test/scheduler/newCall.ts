import { newDispatchId } from '../../scheduler/calls/dispatchId.js'
import type { NewCall } from '../../scheduler/store/store.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'

/** The instant the store conformance suites run at. */
export const T0 = 1_700_000_000_000

/** A call due at `dueAt` (default T0), with everything else defaulted. */
export function newCall(overrides: Partial<NewCall> = {}): NewCall {
  return {
    dispatchId: newDispatchId(),
    function: 'publish',
    endpoint: 'http://127.0.0.1:9/',
    input: { '@type': VALUE_TYPE_URL, value: ['hello'] },
    version: undefined,
    correlationId: undefined,
    createdAt: T0,
    dueAt: T0,
    expiresAt: undefined,
    expirationMs: undefined,
    maxAttempts: 3,
    fairnessKey: undefined,
    idempotencyKey: undefined,
    parentDispatchId: undefined,
    rootDispatchId: undefined,
    ...overrides,
  }
}
