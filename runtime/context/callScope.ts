import { clockNow, clockTimer } from './clock.js'
import type { CallContext } from './currentCall.js'

/** The fields of a RunRequest the context is made of. */
export interface CallScopeInput {
  readonly function: string
  readonly dispatchId?: string | undefined
  readonly parentDispatchId?: string | undefined
  readonly rootDispatchId?: string | undefined
  readonly creationTime?: string | undefined
  readonly expirationTime?: string | undefined
}

function toDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** A creation or expiration time not read yet: parsed on first access (most functions never read them). */
const UNREAD = Symbol('unread')

/**
 * A call's context plus its clean-up. The AbortSignal and its timer are made on first access to
 * `signal`, and the times parsed on first access to them: most functions read none of these, and the
 * endpoint's per-request cost stays low.
 */
export class CallScope implements CallContext {
  readonly function: string
  readonly dispatchId: string | undefined
  readonly parentDispatchId: string | undefined
  readonly rootDispatchId: string | undefined
  readonly #creationText: string | undefined
  readonly #expirationText: string | undefined
  #creationTime: Date | undefined | typeof UNREAD = UNREAD
  #expirationTime: Date | undefined | typeof UNREAD = UNREAD
  #controller: AbortController | undefined
  #cancelTimer: (() => void) | undefined
  #closed = false

  constructor(input: CallScopeInput) {
    this.function = input.function
    this.dispatchId = input.dispatchId
    this.parentDispatchId = input.parentDispatchId
    this.rootDispatchId = input.rootDispatchId
    this.#creationText = input.creationTime
    this.#expirationText = input.expirationTime
  }

  get creationTime(): Date | undefined {
    if (this.#creationTime === UNREAD) this.#creationTime = toDate(this.#creationText)
    return this.#creationTime
  }

  get expirationTime(): Date | undefined {
    if (this.#expirationTime === UNREAD) this.#expirationTime = toDate(this.#expirationText)
    return this.#expirationTime
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      const expiration = this.expirationTime
      if (expiration !== undefined && !this.#closed) {
        const controller = this.#controller
        const fire = () => controller.abort(new DOMException('the call reached its expiration time', 'TimeoutError'))
        if (expiration.getTime() <= clockNow()) fire()
        else this.#cancelTimer = clockTimer(expiration.getTime(), fire)
      }
    }
    return this.#controller.signal
  }

  /** True when the expiration signal has fired (an AbortError is then a timeout). */
  get expired(): boolean {
    return this.#controller?.signal.aborted === true
  }

  /** Stops the expiration timer once the run is over. */
  close(): void {
    this.#closed = true
    this.#cancelTimer?.()
  }
}
