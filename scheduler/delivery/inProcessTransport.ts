import type { RunAnswer } from 'dispatch-functions/internal'
import { type RunRequest, statusOfHttpCode } from 'dispatch-functions/protocol'
import { type AbortWatcher, unwatchAbort, watchAbort } from './abortWatch.js'
import type { DeliveryTransport, PostOutcome } from './endpointClient.js'
import type { InProcessRun } from './inProcessEndpoint.js'

/**
 * Delivers attempts to endpoints in this process: the RunRequest goes to the endpoint core (validate,
 * run, answer — the same code an HTTP endpoint runs once it has decoded the body) as it is, without a
 * socket, a body or a signature. `endpointFor` picks the endpoint of a URL, or undefined when nothing
 * serves it here; those calls go to `fallback` (the HTTP client) when there is one, else fail as
 * NOT_FOUND with `notServed`'s message. As over HTTP, an attempt that outlives its timeout (or is
 * aborted at shutdown) ends as STATUS_TIMEOUT and its call is retried; the function itself is not stopped.
 */
export class InProcessTransport implements DeliveryTransport {
  constructor(
    private readonly endpointFor: (url: string) => InProcessRun | undefined,
    private readonly fallback?: DeliveryTransport,
    private readonly notServed: (url: string, functionName: string) => string = (url, fn) =>
      `nothing in this process serves ${url} (${fn})`,
  ) {}

  post(endpoint: string, request: RunRequest, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
    const run = this.endpointFor(endpoint)
    if (run === undefined && this.fallback !== undefined) {
      return this.fallback.post(endpoint, request, timeoutMs, signal)
    }
    if (run === undefined) {
      return Promise.resolve({
        kind: 'failure',
        status: 'STATUS_NOT_FOUND',
        error: { type: 'NoEndpoint', message: this.notServed(endpoint, request.function) },
      })
    }
    return new Attempt(request, timeoutMs, signal).run(run)
  }
}

/** The timer of an attempt: a function of the module, not a closure per attempt. */
function timeUp(attempt: Attempt): void {
  attempt.abort()
}

/** One attempt run here: settled by the function's answer, its timeout or the signal, whichever comes first. */
class Attempt implements AbortWatcher {
  private settled = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private resolve!: (outcome: PostOutcome) => void
  private reject!: (error: unknown) => void

  constructor(
    private readonly request: RunRequest,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  run(run: InProcessRun): Promise<PostOutcome> {
    const outcome = new Promise<PostOutcome>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    watchAbort(this.signal, this)
    if (this.settled) return outcome
    this.timer = setTimeout(timeUp, Math.max(1, this.timeoutMs), this)
    try {
      run(this.request, (answer) => this.answered(answer))
    } catch (error) {
      this.fail(error)
    }
    return outcome
  }

  private finish(): boolean {
    if (this.settled) return false
    this.settled = true
    clearTimeout(this.timer)
    unwatchAbort(this.signal, this)
    return true
  }

  private answered(answer: RunAnswer): void {
    if (!this.finish()) return
    if (answer.statusCode >= 200 && answer.statusCode < 300) {
      this.resolve({ kind: 'answer', body: answer.body })
      return
    }
    this.resolve({
      kind: 'failure',
      status: statusOfHttpCode(answer.statusCode) ?? 'STATUS_HTTP_ERROR',
      error: { type: `HTTP ${answer.statusCode}`, message: answer.body.slice(0, 2000) },
    })
  }

  private fail(error: unknown): void {
    if (this.finish()) this.reject(error)
  }

  /** The timeout passed, or the signal aborted (the scheduler is shutting down). */
  abort(): void {
    if (!this.finish()) return
    const name = this.request.function
    this.resolve({
      kind: 'failure',
      status: 'STATUS_TIMEOUT',
      error: {
        type: 'Timeout',
        message: this.signal.aborted
          ? `the attempt of ${name} was abandoned (the scheduler is shutting down)`
          : `${name} did not answer within ${this.timeoutMs} ms`,
      },
    })
  }
}
