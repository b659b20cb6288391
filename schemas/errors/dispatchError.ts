import { type DspCode, ERROR_CATALOG } from './errorCatalog.js'

/** Options every error of this package accepts. */
export interface DispatchErrorOptions {
  /** What the person who meets the error can do about it. */
  hint?: string
  /** The HTTP status an API answers with when this error reaches a caller (default: the catalog's, else 500). */
  httpStatus?: number
  cause?: unknown
}

/**
 * The one base class of this package's errors. `code` is stable (`DSPnnnn`, one of the
 * catalog's: schemas/errors/errorCatalog.ts, listed in docs/errors.md) so scripts and tests can
 * match on it; the message says what and where, `hint` says what to do.
 *
 * @example
 * ```ts
 * try { loadConfig(dir) } catch (e) { if (e instanceof DispatchError && e.code === 'DSP4001') ... }
 * ```
 */
export class DispatchError extends Error {
  readonly code: DspCode
  readonly hint: string | undefined
  readonly httpStatus: number

  constructor(code: DspCode, message: string, options: DispatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DispatchError'
    this.code = code
    this.hint = options.hint
    this.httpStatus = options.httpStatus ?? ERROR_CATALOG[code].httpStatus ?? 500
  }

  /** `CODE: message` plus the hint on its own line: what the CLI prints. */
  format(): string {
    return `${this.code}: ${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`
  }
}
