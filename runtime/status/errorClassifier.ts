import type { Status } from '../../schemas/status.js'

/** Any error class (`Error` subclasses, or classes of whatever a library throws). */
export type ErrorClass = abstract new (...args: any[]) => unknown

/**
 * How errors of one class map to a status: a fixed status, or a function that looks at the error
 * and answers a status or undefined (fall through to the next, less specific classification).
 *
 * @example
 * ```ts
 * const classifiers: ErrorClassifier[] = [
 *   { error: Stripe.errors.StripeRateLimitError, status: 'STATUS_THROTTLED' },
 *   { error: PgError, status: (e) => (e.code === '40001' ? 'STATUS_TEMPORARY_ERROR' : undefined) },
 * ]
 * ```
 */
export interface ErrorClassifier<E extends ErrorClass = ErrorClass> {
  readonly error: E
  readonly status: Status | ((error: InstanceType<E>) => Status | undefined)
}

/**
 * Builds an {@link ErrorClassifier} with the error's type inferred from its class (in an array
 * literal of `ErrorClassifier`s the function form would otherwise see `unknown`).
 *
 * @example
 * ```ts
 * await app.register(dispatchPlugin, { routes, classifiers: [errorClassifier(PgError, (e) => (e.code === '40001' ? 'STATUS_TEMPORARY_ERROR' : undefined))] })
 * ```
 */
export function errorClassifier<E extends ErrorClass>(
  error: E,
  status: Status | ((error: InstanceType<E>) => Status | undefined),
): ErrorClassifier {
  return { error, status: status as ErrorClassifier['status'] }
}

const registered = new Map<ErrorClass, ErrorClassifier['status']>()

/**
 * Registers a process-wide classification for an error class (and its subclasses, unless they have
 * their own). The plugin's `classifiers` option takes precedence over these.
 *
 * @example
 * ```ts
 * registerErrorClassifier(QuotaExceededError, 'STATUS_THROTTLED')
 * ```
 */
export function registerErrorClassifier<E extends ErrorClass>(
  error: E,
  status: Status | ((error: InstanceType<E>) => Status | undefined),
): void {
  registered.set(error, status as ErrorClassifier['status'])
}

/** The process-wide registrations (read by the endpoint at classification time). */
export function registeredClassifiers(): ReadonlyMap<ErrorClass, ErrorClassifier['status']> {
  return registered
}
