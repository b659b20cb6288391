/**
 * @module
 * Which status a failed call gets: the default classification of thrown errors, user
 * classifiers per error class, and the mapping of HTTP responses.
 *
 * @example
 * ```ts
 * registerErrorClassifier(QuotaExceededError, 'STATUS_THROTTLED')
 * classifyError(new Error('boom')) // 'STATUS_TEMPORARY_ERROR'
 * ```
 */
export type { ClassifyOptions } from './classifyError.js'
export { classifyError } from './classifyError.js'
export type { ErrorClass, ErrorClassifier } from './errorClassifier.js'
export { errorClassifier, registerErrorClassifier } from './errorClassifier.js'
