import { type DispatchPluginOptions, dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Call, CallResult } from '../../../schemas/call.js'
import type { ErrorMessage } from '../../../schemas/error.js'
import type { Poll, RunRequest, RunResponse } from '../../../schemas/run.js'
import { VALUE_TYPE_URL } from '../../../schemas/wellKnown.js'

export const RUN = '/dispatch.sdk.v1.FunctionService/Run'

/** An endpoint on 127.0.0.1 (port 0) serving `options.routes` without signatures. */
export async function startEndpoint(options: DispatchPluginOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false })
  await app.register(dispatchPlugin, { verificationKey: false, ...options })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

/** In which order the driver runs a parent's pending children (and so in which order results arrive). */
export type Order = 'fifo' | 'lifo' | 'shuffle'

export interface Outcome {
  readonly status: string
  readonly output?: unknown
  readonly error?: ErrorMessage
}

/** One request the driver sent, for assertions on what the endpoint was asked. */
export interface Sent {
  readonly function: string
  readonly resumed: boolean
}

/**
 * A protocol-level test scheduler, in the manner of the Python SDK's test scheduler: it runs a call
 * on a real endpoint, and for every Poll runs the children itself (recursively, one at a time, in
 * the chosen order) until `minResults` are in, then resumes the parent with at most `maxResults`
 * of them, honouring `maxWait` when a Poll starts nothing. Used to pin down the runtime's replay
 * semantics independently of the real scheduler (which has its own end-to-end tests).
 */
export class CoroutineDriver {
  readonly sent: Sent[] = []
  readonly polls: { function: string; poll: Poll }[] = []
  private seed: number
  private ids = 0

  constructor(
    private readonly url: string,
    private readonly order: Order = 'fifo',
    seed = 1,
  ) {
    this.seed = seed
  }

  // mulberry32: a small deterministic generator, so a scrambled order is repeatable.
  private random(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0
    let t = this.seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  async post(request: RunRequest): Promise<RunResponse> {
    this.sent.push({ function: request.function, resumed: request.pollResult !== undefined })
    const response = await fetch(this.url + RUN, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`the endpoint answered ${response.status}: ${text}`)
    return JSON.parse(text) as RunResponse
  }

  /** Runs `fn(...args)` to its end, children included. */
  async run(fn: string, args: unknown[]): Promise<Outcome> {
    return this.runInput(fn, { '@type': VALUE_TYPE_URL, value: args })
  }

  private async runInput(fn: string, input: Call['input']): Promise<Outcome> {
    const dispatchId = `d${++this.ids}`
    let request: RunRequest = { function: fn, dispatchId }
    if (input !== undefined) request.input = input
    const pending: Call[] = []
    const done: CallResult[] = []
    for (;;) {
      const response = await this.post(request)
      if (response.exit !== undefined) {
        const tail = response.exit.tailCall
        if (tail !== undefined) return this.runInput(tail.function, tail.input)
        const result = response.exit.result ?? {}
        const outcome: { status: string; output?: unknown; error?: ErrorMessage } = { status: response.status }
        if (result.output !== undefined) outcome.output = result.output.value
        if (result.error !== undefined) outcome.error = result.error
        return outcome
      }
      const poll = response.poll
      if (poll === undefined) throw new Error(`neither exit nor poll: ${JSON.stringify(response)}`)
      this.polls.push({ function: request.function, poll })
      pending.push(...(poll.calls ?? []))
      const min = poll.minResults ?? 1
      const max = poll.maxResults ?? 1000
      while (done.length < min && pending.length > 0) {
        const index =
          this.order === 'fifo'
            ? 0
            : this.order === 'lifo'
              ? pending.length - 1
              : Math.floor(this.random() * pending.length)
        const [child] = pending.splice(index, 1)
        const outcome = await this.runInput(child!.function, child!.input)
        const result: CallResult = { correlationId: child!.correlationId ?? '0', dispatchId: `c${this.ids}` }
        if (outcome.status === 'STATUS_OK') {
          if (outcome.output !== undefined) result.output = { '@type': VALUE_TYPE_URL, value: outcome.output }
        } else {
          result.error = outcome.error ?? { type: outcome.status, message: outcome.status }
        }
        done.push(result)
      }
      if (done.length === 0 && poll.maxWait !== undefined) {
        // A durable timer: the protocol says resume after maxWait with whatever is in (nothing).
        await new Promise((resolve) => setTimeout(resolve, Number(poll.maxWait!.slice(0, -1)) * 1000))
      } else if (done.length === 0) {
        throw new Error(`${fn} polled for results that can never come: ${JSON.stringify(poll)}`)
      }
      const results = done.splice(0, max)
      const pollResult: NonNullable<RunRequest['pollResult']> = { results }
      if (poll.coroutineState !== undefined) pollResult.coroutineState = poll.coroutineState
      request = { function: fn, dispatchId, pollResult }
    }
  }
}
