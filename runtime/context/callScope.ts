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

/**
 * A call's context plus its clean-up. The AbortSignal and its timer are made on first access to
 * `signal`: most functions never read it, and the endpoint's per-request cost stays low.
 */
export class CallScope implements CallContext {
  readonly function: string
  readonly dispatchId: string | undefined
  readonly parentDispatchId: string | undefined
  readonly rootDispatchId: string | undefined
  readonly creationTime: Date | undefined
  readonly expirationTime: Date | undefined
  #controller: AbortController | undefined
  #cancelTimer: (() => void) | undefined
  #closed = false

  constructor(input: CallScopeInput) {
    this.function = input.function
    this.dispatchId = input.dispatchId
    this.parentDispatchId = input.parentDispatchId
    this.rootDispatchId = input.rootDispatchId
    this.creationTime = toDate(input.creationTime)
    this.expirationTime = toDate(input.expirationTime)
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
