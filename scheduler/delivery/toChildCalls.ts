import { Call, type DispatchCall, type ErrorMessage, MAX_POLL_CALLS } from 'dispatch-functions/protocol'
import { Compile } from 'typebox/compile'
import { ConnectRefusal } from '../calls/connectError.js'
import type { CallPolicies } from '../calls/retryPolicy.js'
import { toNewCall } from '../calls/toNewCalls.js'
import type { NewCall, StoredCall } from '../store/store.js'

const checkCall = Compile(Call)

/** The children of a Poll, or why none of them can be dispatched (sent back as `pollResult.error`). */
export type ChildCalls =
  | { readonly kind: 'children'; readonly children: NewCall[] }
  | { readonly kind: 'refused'; readonly error: ErrorMessage }

/**
 * Checks the calls of a Poll as the Dispatch API checks a batch (one bad call refuses them
 * all, named by index) and turns them into children of `parent`: the parent's endpoint when a call
 * names none, its root, its fairness key, and an expiration no later than the parent's, so the
 * parent's expiration bounds the whole tree (docs/protocol.md §12.2).
 */
export function toChildCalls(parent: StoredCall, calls: unknown, options: CallPolicies, now: number): ChildCalls {
  if (calls === undefined) return { kind: 'children', children: [] }
  const refused = (message: string): ChildCalls => ({
    kind: 'refused',
    error: { type: 'InvalidPollCalls', message: `none of the Poll's calls was dispatched: ${message}` },
  })
  if (!Array.isArray(calls)) return refused('calls is not an array')
  if (calls.length > MAX_POLL_CALLS) return refused(`${calls.length} calls, over the limit of ${MAX_POLL_CALLS}`)
  const children: NewCall[] = []
  for (const [index, call] of calls.entries()) {
    if (!checkCall.Check(call)) {
      const first = checkCall.Errors(call)[0]
      return refused(`call ${index}: ${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`)
    }
    // Only the protocol's Call fields: Dispatch-only options (delay, maxAttempts, ...) are not a Poll's.
    const asDispatched: DispatchCall = { function: call.function, endpoint: call.endpoint ?? parent.endpoint }
    if (call.input !== undefined) asDispatched.input = call.input
    if (call.expiration !== undefined) asDispatched.expiration = call.expiration
    if (call.version !== undefined) asDispatched.version = call.version
    if (call.correlationId !== undefined) asDispatched.correlationId = call.correlationId
    if (call.flow !== undefined) asDispatched.flow = call.flow
    // The span that made the child (the parent's run), else the parent's own trace context.
    const traceparent = call.traceparent ?? parent.traceparent
    if (traceparent !== undefined) asDispatched.traceparent = traceparent
    // Checked with the fairness key the child inherits: the stores index it with endpoint and function.
    if (parent.fairnessKey !== undefined) asDispatched.fairnessKey = parent.fairnessKey
    let child: NewCall
    try {
      child = toNewCall(asDispatched, index, options, now)
    } catch (error) {
      if (error instanceof ConnectRefusal) return refused(error.message)
      throw error
    }
    const expiresAt =
      parent.expiresAt === undefined ? child.expiresAt : Math.min(child.expiresAt ?? parent.expiresAt, parent.expiresAt)
    children.push({
      ...child,
      expiresAt,
      // A redrive of the child recomputes its expiration from this.
      expirationMs: expiresAt === undefined ? undefined : Math.max(1, expiresAt - now),
      fairnessKey: parent.fairnessKey,
      parentDispatchId: parent.dispatchId,
      rootDispatchId: parent.rootDispatchId ?? parent.dispatchId,
      ...(call.detached === true ? { detached: true } : {}),
    })
  }
  return { kind: 'children', children }
}
