import { DispatchError, type DispatchErrorOptions } from '../../schemas/errors/dispatchError.js'
import type { Status } from '../../schemas/status.js'

/**
 * An error a dispatch function throws to choose the status of its failure: the scheduler retries
 * the retried statuses (docs/protocol.md §9.1) and gives up on the others. Throw one of the subclasses.
 *
 * @example
 * ```ts
 * if (!user) throw new PermanentError(`no user ${id}`)        // not retried
 * if (busy) throw new ThrottledError('upstream rate limit')    // retried, lowers concurrency
 * ```
 */
export class FunctionError extends DispatchError {
  readonly status: Status

  constructor(status: Status, message: string, options: DispatchErrorOptions = {}) {
    super('DSP2301', message, options)
    this.name = 'FunctionError'
    this.status = status
  }
}

// One small class per status a function may choose; `name` is what `exit.result.error.type` reports.
function statusClass<S extends Status>(status: S, name: string) {
  const Class = class extends FunctionError {
    constructor(message: string, options: DispatchErrorOptions = {}) {
      super(status, message, options)
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  return Class
}

/** Not retried: the call cannot succeed. */
export const PermanentError = statusClass('STATUS_PERMANENT_ERROR', 'PermanentError')
export type PermanentError = InstanceType<typeof PermanentError>
/** Retried with backoff. */
export const TemporaryError = statusClass('STATUS_TEMPORARY_ERROR', 'TemporaryError')
export type TemporaryError = InstanceType<typeof TemporaryError>
/** Retried, and the scheduler lowers its concurrency towards this endpoint. */
export const ThrottledError = statusClass('STATUS_THROTTLED', 'ThrottledError')
export type ThrottledError = InstanceType<typeof ThrottledError>
/** Retried: something took too long. */
export const TimeoutError = statusClass('STATUS_TIMEOUT', 'TimeoutError')
export type TimeoutError = InstanceType<typeof TimeoutError>
/** Not retried: the arguments are wrong (what a TypeError/RangeError from an argument check means). */
export const InvalidArgumentError = statusClass('STATUS_INVALID_ARGUMENT', 'InvalidArgumentError')
export type InvalidArgumentError = InstanceType<typeof InvalidArgumentError>
/** Not retried: the function produced something it should not have. */
export const InvalidResponseError = statusClass('STATUS_INVALID_RESPONSE', 'InvalidResponseError')
export type InvalidResponseError = InstanceType<typeof InvalidResponseError>
/** Not retried. */
export const NotFoundError = statusClass('STATUS_NOT_FOUND', 'NotFoundError')
export type NotFoundError = InstanceType<typeof NotFoundError>
/** Not retried. */
export const PermissionDeniedError = statusClass('STATUS_PERMISSION_DENIED', 'PermissionDeniedError')
export type PermissionDeniedError = InstanceType<typeof PermissionDeniedError>
/** Not retried. */
export const UnauthenticatedError = statusClass('STATUS_UNAUTHENTICATED', 'UnauthenticatedError')
export type UnauthenticatedError = InstanceType<typeof UnauthenticatedError>
/** Retried from the call's original input: the saved state no longer fits the code. */
export const IncompatibleStateError = statusClass('STATUS_INCOMPATIBLE_STATE', 'IncompatibleStateError')
export type IncompatibleStateError = InstanceType<typeof IncompatibleStateError>
