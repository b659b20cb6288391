import { setMaxListeners } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import type { CallEvents } from '../calls/callEvents.js'
import type { FaultHooks } from '../calls/faultHooks.js'
import { policyFor, type ResolvedRetryPolicy } from '../calls/retryPolicy.js'
import type { SchedulerMetrics } from '../metrics/schedulerMetrics.js'
import type { Completion, QueueKey, Store, StoredCall } from '../store/store.js'
import type { AdaptiveConcurrency } from './adaptiveConcurrency.js'
import type { AttemptSpan } from './attemptSpan.js'
import { startAttemptSpan } from './attemptSpan.js'
import { buildRunRequest } from './buildRunRequest.js'
import type { ClaimSelector } from './claimSelector.js'
import { decideCompletion, expired } from './decideCompletion.js'
import type { DeliveryOptions } from './deliveryOptions.js'
import type { DeliveryTransport, PostOutcome } from './endpointClient.js'
import { fitResults } from './fitResults.js'

export interface DeliveryLoopParts {
  readonly store: Store
  readonly selector: ClaimSelector
  readonly client: DeliveryTransport
  readonly events: CallEvents
  readonly options: DeliveryOptions
  readonly owner: string
  readonly log: FastifyBaseLogger
  /** Per-endpoint adaptive limits: told when attempts start and how they end. */
  readonly limits?: AdaptiveConcurrency | undefined
  /** Told of every attempt that finished (for back-pressure's count of unfinished calls). */
  readonly onRecorded?: ((completions: readonly Completion[]) => void) | undefined
  /** Fault injection (the fault suite only): told when a claim, a delivery or a Poll is reached. */
  readonly faults?: FaultHooks | undefined
  /** Told when attempts start and end (the `/metrics` counters and histograms). */
  readonly metrics?: SchedulerMetrics | undefined
  /** Told when the attempt of a call with a per-key concurrency limit ended, or capped children were started. */
  readonly onSlotFreed?: (() => void) | undefined
}

/**
 * Claims due calls (through the selector), delivers each as a signed RunRequest, and records the
 * outcomes in batches: every completion that is ready when the store is free goes into one
 * transaction. An attempt's slot is freed only once its outcome is durable, so the number of
 * claimed-but-unrecorded calls never exceeds `concurrency`.
 */
export class DeliveryLoop {
  private readonly inflight = new Set<string>()
  /** Aborted when stop() abandons the attempts still in flight (all of them at once: one signal for all). */
  private readonly shutdown = new AbortController()
  /** Calls in flight that hold a slot of a per-key concurrency limit. */
  private readonly capped = new Set<string>()
  private queued: Completion[] = []
  private moved: QueueKey[] = []
  /** Parents of calls that just ended: each may now be due (enough results). */
  private parents = new Set<string>()
  private chain: Promise<void> = Promise.resolve()
  private flushScheduled = false
  private stopping = false
  private abandoned = false
  private woken = false
  private wakeUp: (() => void) | undefined
  private running: Promise<void> | undefined
  private readonly drainWaiters = new Set<() => void>()

  constructor(private readonly parts: DeliveryLoopParts) {
    // A transport of a test harness may listen to the signal once per attempt in flight: no warning past ten.
    setMaxListeners(0, this.shutdown.signal)
  }

  /** Attempts in flight (claimed, outcome not yet recorded). */
  get inFlight(): number {
    return this.inflight.size
  }

  start(): void {
    this.running ??= this.run()
  }

  /** Looks for due calls now (after a dispatch, a redrive, a finished attempt). */
  wake(): void {
    this.woken = true
    this.wakeUp?.()
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wakeUp = () => {
        this.wakeUp = undefined
        done()
      }
    })
  }

  private async run(): Promise<void> {
    const { selector, store, options, log } = this.parts
    while (!this.stopping) {
      try {
        const capacity = options.concurrency - this.inflight.size
        // Claim when a quarter of the slots are free, not for every single one: one claim
        // transaction then serves many calls instead of one commit per finished attempt.
        if (capacity <= 0 || (capacity < options.concurrency / 4 && this.inflight.size > 0)) {
          this.woken = false
          await this.sleep(options.pollIntervalMs) // a recorded completion wakes the loop
          continue
        }
        this.woken = false
        // Calls claimed while stop() began are attempted too: stop() waits for them like the others.
        const calls = await selector.claim(options.now(), capacity)
        if (calls.length > 0) this.parts.faults?.at('after-claim')
        for (const call of calls) this.attempt(call)
        if (calls.length > 0) continue
        const next = await store.nextDueAt()
        let wait = next === undefined ? options.pollIntervalMs : Math.min(options.pollIntervalMs, next - options.now())
        // Due calls that the selector would not take (their endpoints are at their limits) wait for
        // an attempt to finish, which wakes the loop, instead of spinning.
        if (wait <= 0 && this.inflight.size > 0) wait = options.pollIntervalMs
        // Due calls none of which could be taken with nothing in flight here: capped calls whose keys
        // are full on other nodes. A dispatch or a notification wakes the loop; else look again soon.
        if (wait <= 0) wait = Math.min(options.pollIntervalMs, 20)
        if (wait > 0) await this.sleep(wait)
      } catch (error) {
        log.error({ err: error }, 'claiming due calls failed; retrying')
        await this.sleep(options.pollIntervalMs)
      }
    }
  }

  /**
   * Delivers one claimed call. Anything that throws while preparing, sending or recording this attempt
   * fails this call alone (terminal, with the error recorded) and frees its slot: the other calls of
   * the claim are delivered as usual.
   */
  private attempt(claimed: StoredCall): void {
    this.inflight.add(claimed.dispatchId)
    if (claimed.concurrency !== undefined) this.capped.add(claimed.dispatchId)
    try {
      this.deliver(claimed)
    } catch (error) {
      this.failAlone(claimed, 'prepare', error)
    }
  }

  private deliver(claimed: StoredCall): void {
    const call = fitResults(claimed)
    const { options, owner, client } = this.parts
    const policy = policyFor(options, call.function)
    const now = options.now()
    if (call.expiresAt !== undefined && call.expiresAt <= now) {
      if (call.parentDispatchId !== undefined) this.parents.add(call.parentDispatchId)
      const completion: Mutable<Completion> = expired(call, { owner, now, policy })
      completion.startedAt = now
      this.record(completion)
      return
    }
    const timeoutMs = Math.min(policy.attemptTimeoutMs, (call.expiresAt ?? Number.POSITIVE_INFINITY) - now)
    const request = buildRunRequest(call)
    const span = startAttemptSpan(call, now)
    if (span.traceparent !== undefined) request.traceparent = span.traceparent
    const limits = this.parts.limits
    const origin = limits?.originOf(call.endpoint)
    const token = origin === undefined ? 0 : limits!.start(origin)
    const metrics = this.parts.metrics
    // A first attempt (not a coroutine's resumed turn): its start delay is measured from acceptance.
    metrics?.attemptStarted(call.function, call.attempts === 1 && call.poll === undefined, call.createdAt, now)
    const attempt: Attempt = {
      call,
      policy,
      startedAt: now,
      origin,
      token,
      span,
      sent: metrics === undefined ? 0 : performance.now(),
    }
    client.post(call.endpoint, request, timeoutMs, this.shutdown.signal).then(
      (outcome) => this.answered(attempt, outcome),
      (error: unknown) => this.lost(attempt, error),
    )
  }

  /** What an attempt's transport gave: decided, counted and queued for recording. */
  private answered(attempt: Attempt, outcome: PostOutcome): void {
    const { call, origin, span } = attempt
    if (this.abandoned) {
      if (origin !== undefined) this.parts.limits!.end(origin, attempt.token, undefined)
      span.end(undefined, 'abandoned')
      return // shutting down: the lease is released and the call delivered again
    }
    try {
      const { options, owner, log, metrics } = this.parts
      this.parts.faults?.at('after-delivery')
      // The attempt's start goes into the call's attempt history with its outcome.
      const completion: Mutable<Completion> = decideCompletion(call, outcome, {
        owner,
        now: options.now(),
        policy: attempt.policy,
        options,
      })
      completion.startedAt = attempt.startedAt
      if (completion.kind === 'poll') this.parts.faults?.at('poll-before-record')
      if (origin !== undefined) {
        attempt.origin = undefined
        this.parts.limits!.end(origin, attempt.token, completion.status)
      }
      span.end(completion.status, completion.kind)
      metrics?.attemptEnded(
        call.function,
        completion.status,
        completion.kind,
        (performance.now() - attempt.sent) / 1000,
      )
      if (completion.kind === 'tailCall') {
        this.moved.push({
          endpoint: completion.endpoint,
          function: completion.function,
          fairnessKey: call.fairnessKey,
        })
      }
      // A Poll's children are due now, like a tail call's new queue; the parent itself may be due
      // now too (results already waiting, a Poll error, a restart).
      if (completion.kind === 'poll' || completion.kind === 'restart') {
        const own = { endpoint: call.endpoint, function: call.function, fairnessKey: call.fairnessKey }
        this.moved.push(own)
        if (completion.kind === 'poll') {
          for (const child of completion.children) {
            this.moved.push({ endpoint: child.endpoint, function: child.function, fairnessKey: child.fairnessKey })
          }
        }
      }
      if ((completion.kind === 'succeeded' || completion.kind === 'failed') && call.parentDispatchId !== undefined) {
        this.parents.add(call.parentDispatchId)
      }
      if (completion.kind === 'poll') {
        log.debug(
          { dispatchId: call.dispatchId, function: call.function, calls: completion.children.length },
          'coroutine suspended',
        )
      } else if (completion.kind !== 'succeeded') {
        log.info(
          { dispatchId: call.dispatchId, function: call.function, attempt: call.attempts, status: completion.status },
          `attempt ${completion.kind === 'retry' ? 'will be retried' : completion.kind}`,
        )
      }
      this.record(completion)
    } catch (error) {
      this.lost(attempt, error)
    }
  }

  /** An attempt whose answer could not be handled (or whose transport threw): its call fails alone. */
  private lost(attempt: Attempt, error: unknown): void {
    const { origin } = attempt
    if (origin !== undefined) {
      attempt.origin = undefined
      this.parts.limits!.end(origin, attempt.token, undefined)
    }
    attempt.span.end(undefined, 'failed')
    this.failAlone(attempt.call, 'handle the answer to', error)
  }

  /** Records a terminal failure of `call` for an attempt the scheduler could not carry out. */
  private failAlone(call: StoredCall, step: string, error: unknown): void {
    const { owner, log } = this.parts
    log.error({ err: error, dispatchId: call.dispatchId }, `could not ${step} an attempt; the call fails alone`)
    if (call.parentDispatchId !== undefined) this.parents.add(call.parentDispatchId)
    const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    this.record({
      dispatchId: call.dispatchId,
      attempt: call.attempts,
      owner,
      now: this.parts.options.now(),
      kind: 'failed',
      status: step === 'prepare' ? 'STATUS_INVALID_ARGUMENT' : 'STATUS_INVALID_RESPONSE',
      output: undefined,
      error: {
        type: 'AttemptFailed',
        message: `the scheduler could not ${step} this attempt (${cause.slice(0, 500)}); the call was failed so that it cannot hold up other calls`,
      },
    })
  }

  private record(completion: Completion): void {
    this.queued.push(completion)
    if (this.flushScheduled) return
    this.flushScheduled = true
    // setImmediate lets every answer that arrived in this turn of the event loop join one commit.
    setImmediate(() => {
      this.flushScheduled = false
      this.chain = this.chain.then(() => this.flush())
    })
  }

  private async flush(): Promise<void> {
    const batch = this.queued
    if (batch.length === 0) return
    this.queued = []
    // Taken with the batch: queues named by outcomes recorded later are told after their own commit.
    const moved = this.moved
    this.moved = []
    const parents = this.parents
    this.parents = new Set()
    const { store, events, log } = this.parts
    try {
      const applied = await store.completeAttempts(batch)
      const stale = applied.filter((ok) => !ok).length
      if (stale > 0) log.debug({ stale }, 'outcomes of attempts whose claim no longer held were dropped')
    } catch (error) {
      // Nothing recorded: the calls stay leased and are delivered again when the leases expire.
      log.error({ err: error, calls: batch.length }, 'recording attempt outcomes failed')
    }
    // A tail call moves its call into another queue, due now: tell the selector where it went.
    if (moved.length > 0) this.parts.selector.notice?.(dedupe(moved))
    let freed = false
    for (const completion of batch) {
      this.inflight.delete(completion.dispatchId)
      if (this.capped.delete(completion.dispatchId)) freed = true
      if (
        completion.kind === 'poll' &&
        completion.children.some((c) => c.concurrency !== undefined || c.rateLimit !== undefined)
      )
        freed = true
    }
    if (freed) this.parts.onSlotFreed?.()
    this.parts.onRecorded?.(batch)
    events.notify(batch.map((c) => c.dispatchId))
    if (parents.size > 0) await this.noticeParents([...parents])
    this.wake()
    if (this.inflight.size === 0) for (const done of [...this.drainWaiters]) done()
  }

  /**
   * Children ended; a suspended parent they woke is due now in its own queue, which the
   * selector may have dropped: tell it (one read of the parents, instead of re-listing every queue).
   */
  private async noticeParents(ids: readonly string[]): Promise<void> {
    try {
      const now = this.parts.options.now()
      const due = await this.parts.store.dueQueuesOf(ids, now)
      if (due.length > 0) this.parts.selector.notice?.(due)
    } catch (error) {
      // The periodic listing of due queues finds them anyway.
      this.parts.log.warn({ err: error }, 'reading the parents of finished calls failed')
    }
  }

  /**
   * Stops claiming, lets in-flight attempts finish for up to `graceMs`, then abandons the rest
   * (their leases are released, so the next start delivers them again: at least once).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true
    this.wakeUp?.()
    await this.running
    if (this.inflight.size > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          this.drainWaiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, graceMs)
        this.drainWaiters.add(done)
      })
    }
    if (this.inflight.size > 0) {
      this.abandoned = true
      this.shutdown.abort()
    }
    this.chain = this.chain.then(() => this.flush())
    await this.chain
    if (this.abandoned) await this.parts.store.releaseLeases(this.parts.options.now(), this.parts.owner)
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** One attempt in flight: what its outcome is decided and counted with. */
interface Attempt {
  readonly call: StoredCall
  readonly policy: ResolvedRetryPolicy
  readonly startedAt: number
  /** The origin whose adaptive limit the attempt holds a slot of; cleared once the slot is given back. */
  origin: string | undefined
  readonly token: number
  readonly span: AttemptSpan
  /** performance.now() when it was sent (0 without metrics). */
  readonly sent: number
}

/** Queues without repeats (a Poll's children are often all in one queue). */
function dedupe(queues: readonly QueueKey[]): QueueKey[] {
  const seen = new Map<string, QueueKey>()
  for (const q of queues) seen.set(JSON.stringify([q.endpoint, q.function, q.fairnessKey ?? null]), q)
  return [...seen.values()]
}
