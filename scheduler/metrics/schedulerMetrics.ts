import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CallCounts, Completion, NewCall, QueueBacklog } from '../store/store.js'
import { FastHistogram } from './fastHistogram.js'
import { processRegistry } from './processRegistry.js'
import { SpacedRead } from './spacedRead.js'
import type { TimedOperation } from './timedStore.js'

/** What the scheduler knows now, read on each scrape (nothing is kept between scrapes). */
export interface LiveFigures {
  /** The store's counts per function and state (a scan: {@link SchedulerMetrics} spaces them out). */
  readonly countCalls: () => Promise<CallCounts[]>
  /** The earliest due time of any unfinished call. */
  readonly nextDueAt: () => Promise<number | undefined>
  /** The queues with due calls, oldest first (undefined: the store cannot tell). */
  readonly queueBacklog: ((limit: number) => Promise<QueueBacklog[]>) | undefined
  readonly now: () => number
  /** Per endpoint origin: the adaptive limit and the attempts in flight (delivery's figures). */
  readonly endpoints: () => readonly { readonly endpoint: string; readonly limit: number; readonly inFlight: number }[]
  readonly inFlight: () => number
  /** Back-pressure's estimate of unfinished calls (undefined when back-pressure is off). */
  readonly unfinishedCalls: () => number | undefined
  /** Calls accepted and waiting for their commit (undefined without group commit). */
  readonly queuedCalls: () => number | undefined
}

/** Why the Dispatch API refused a request with 429: the `reason` of `dispatch_backpressure_rejections_total`. */
export type RejectionReason = 'queued' | 'unfinished'

/** The outcome label of an attempt: the kind of what the scheduler decided after it. */
export type AttemptOutcome = Completion['kind']

/** Seconds: from a millisecond to a few minutes (an attempt's default timeout is 5 minutes). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
/** Seconds: a commit takes a fraction of a millisecond to a few seconds on a loaded disk. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** The queues with the oldest due calls that get series of their own (bounded label cardinality). */
const BACKLOG_QUEUES = 20

type Inc = { inc(value?: number): void }
type Observe = { observe(value: number): void }

/** One function's label children. */
interface FunctionSeries {
  readonly accepted: Inc
  readonly startDelay: Observe
  readonly duration: Observe
  /** By status, then outcome. */
  readonly attempts: Map<string, Map<string, Inc>>
}

/**
 * The scheduler's Prometheus metrics, in a registry of its own (never prom-client's global one):
 * two schedulers in one process each serve only their own. Delivery and the API report events as
 * they happen (cheap counter and histogram updates); the gauges are read from the scheduler's
 * state and the store when scraped.
 */
export class SchedulerMetrics {
  /** This scheduler's own metrics. */
  readonly registry = new Registry()
  /** What a scrape answers: the scheduler's metrics, with the process's unless turned off. */
  private readonly served: Registry
  private readonly acceptedTotal: Counter<'function'>
  private readonly attemptsTotal: Counter<'function' | 'status' | 'outcome'>
  private readonly attemptSeconds: FastHistogram
  private readonly startDelaySeconds: FastHistogram
  private readonly storeSeconds: Histogram<'operation'>
  private readonly rejectionsTotal: Counter<'reason'>
  /**
   * Label children by function (then status and outcome): prom-client would otherwise hash the
   * labels on every event. Keyed by the strings the calls carry, so nothing is built per attempt.
   */
  private readonly byFunction = new Map<string, FunctionSeries>()
  private readonly others = new Map<string, Inc & Observe>()
  private readonly counts: SpacedRead<CallCounts[]>
  private readonly backlog: SpacedRead<QueueBacklog[]>

  constructor(live: LiveFigures, options: { readonly processMetrics?: boolean } = {}) {
    const registers = [this.registry]
    this.counts = new SpacedRead(live.countCalls)
    const backlog = live.queueBacklog
    this.backlog = new SpacedRead(() => (backlog === undefined ? Promise.resolve([]) : backlog(BACKLOG_QUEUES)))
    this.acceptedTotal = new Counter({
      name: 'dispatch_calls_accepted_total',
      help: 'Calls the Dispatch API accepted and stored (idempotent repeats not counted), by function.',
      labelNames: ['function'],
      registers,
    })
    this.attemptsTotal = new Counter({
      name: 'dispatch_attempts_total',
      help: 'Attempts that ended, by function, status and what followed (succeeded, failed, retry, tailCall, poll, restart).',
      labelNames: ['function', 'status', 'outcome'],
      registers,
    })
    this.attemptSeconds = new FastHistogram(
      'dispatch_attempt_duration_seconds',
      'How long attempts took, from sending the RunRequest to its answer, by function.',
      'function',
      DURATION_BUCKETS,
      this.registry,
    )
    this.startDelaySeconds = new FastHistogram(
      'dispatch_call_start_delay_seconds',
      "From a call's acceptance to the start of its first attempt (a dispatch delay included), by function.",
      'function',
      DURATION_BUCKETS,
      this.registry,
    )
    this.storeSeconds = new Histogram({
      name: 'dispatch_store_seconds',
      help: 'Latency of the store transactions that accept (insertCalls), claim (claimCalls, claimQueues) and record (completeAttempts) calls.',
      labelNames: ['operation'],
      buckets: STORE_BUCKETS,
      registers,
    })
    this.rejectionsTotal = new Counter({
      name: 'dispatch_backpressure_rejections_total',
      help: 'Dispatch requests refused with 429 by back-pressure, by reason (queued: the store is behind; unfinished: the endpoints are behind).',
      labelNames: ['reason'],
      registers,
    })
    const metrics = this
    new Gauge({
      name: 'dispatch_calls',
      help: "Calls in the store by function and state (the store's counts, re-read by a scrape at most every 5 s).",
      labelNames: ['function', 'state'],
      registers,
      async collect() {
        const counts = await metrics.counts.get()
        if (counts === undefined) return
        this.reset()
        for (const c of counts) this.set({ function: c.function, state: c.state }, c.count)
      },
    })
    new Gauge({
      name: 'dispatch_calls_retrying',
      help: 'Pending calls that have been attempted before (waiting for a retry), by function.',
      labelNames: ['function'],
      registers,
      async collect() {
        const counts = await metrics.counts.get()
        if (counts === undefined) return
        this.reset()
        for (const c of counts) if (c.state === 'pending') this.set({ function: c.function }, c.retrying)
      },
    })
    new Gauge({
      name: 'dispatch_oldest_due_call_age_seconds',
      help: 'How long the earliest due unfinished call has been due (0: nothing is overdue).',
      registers,
      async collect() {
        const next = await live.nextDueAt().catch(() => undefined)
        this.set(next === undefined ? 0 : Math.max(0, (live.now() - next) / 1000))
      },
    })
    const queueLabels = (q: QueueBacklog) => ({
      endpoint: q.endpoint,
      function: q.function,
      fairness_key: q.fairnessKey ?? '',
    })
    if (live.queueBacklog !== undefined) {
      new Gauge({
        name: 'dispatch_queue_due_calls',
        help: `Calls due now per queue (endpoint, function, fairness key): the ${BACKLOG_QUEUES} queues with the oldest due calls, re-read by a scrape at most every 5 s.`,
        labelNames: ['endpoint', 'function', 'fairness_key'],
        registers,
        async collect() {
          const queues = await metrics.backlog.get()
          if (queues === undefined) return
          this.reset()
          for (const q of queues) this.set(queueLabels(q), q.due)
        },
      })
      new Gauge({
        name: 'dispatch_queue_oldest_due_seconds',
        help: `How long the oldest due call of each queue has been due (the same ${BACKLOG_QUEUES} queues).`,
        labelNames: ['endpoint', 'function', 'fairness_key'],
        registers,
        async collect() {
          const queues = await metrics.backlog.get()
          if (queues === undefined) return
          this.reset()
          const now = live.now()
          for (const q of queues) this.set(queueLabels(q), Math.max(0, (now - q.oldestDueAt) / 1000))
        },
      })
    }
    new Gauge({
      name: 'dispatch_endpoint_concurrency_limit',
      help: 'The adaptive concurrency limit of each endpoint origin.',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset()
        for (const e of live.endpoints()) this.set({ endpoint: e.endpoint }, e.limit)
      },
    })
    new Gauge({
      name: 'dispatch_endpoint_in_flight',
      help: 'Attempts in flight at each endpoint origin.',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset()
        for (const e of live.endpoints()) this.set({ endpoint: e.endpoint }, e.inFlight)
      },
    })
    new Gauge({
      name: 'dispatch_attempts_in_flight',
      help: 'Attempts in flight (claimed, outcome not yet recorded), over all endpoints.',
      registers,
      collect() {
        this.set(live.inFlight())
      },
    })
    new Gauge({
      name: 'dispatch_unfinished_calls',
      help: 'Pending, running and suspended calls, as back-pressure estimates them (absent when it is off).',
      registers,
      collect() {
        const value = live.unfinishedCalls()
        if (value !== undefined) this.set(value)
      },
    })
    new Gauge({
      name: 'dispatch_queued_calls',
      help: 'Calls accepted and waiting for their commit (group commit).',
      registers,
      collect() {
        const value = live.queuedCalls()
        if (value !== undefined) this.set(value)
      },
    })
    this.served = options.processMetrics === false ? this.registry : Registry.merge([this.registry, processRegistry()])
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.served.metrics()
  }

  get contentType(): string {
    return this.served.contentType
  }

  private series(fn: string): FunctionSeries {
    let series = this.byFunction.get(fn)
    if (series === undefined) {
      const labels = { function: fn }
      series = {
        accepted: this.acceptedTotal.labels(labels),
        startDelay: this.startDelaySeconds.labels(fn),
        duration: this.attemptSeconds.labels(fn),
        attempts: new Map(),
      }
      this.byFunction.set(fn, series)
    }
    return series
  }

  private other(metric: Counter<string> | Histogram<string>, key: string, labels: Record<string, string>) {
    let child = this.others.get(key)
    if (child === undefined) {
      child = metric.labels(labels) as Inc & Observe
      this.others.set(key, child)
    }
    return child
  }

  /** New calls were stored (the Dispatch API, after the commit). */
  accepted(calls: readonly NewCall[]): void {
    for (const call of calls) this.series(call.function).accepted.inc()
  }

  /** An attempt of a call starts; for a first attempt, `createdAt` is when the call was accepted. */
  attemptStarted(fn: string, firstAttempt: boolean, createdAt: number, now: number): void {
    if (firstAttempt) this.series(fn).startDelay.observe(Math.max(0, (now - createdAt) / 1000))
  }

  /** An attempt's answer came back (or its transport failed) after `seconds`. */
  attemptEnded(fn: string, status: string, outcome: AttemptOutcome, seconds: number): void {
    const series = this.series(fn)
    series.duration.observe(seconds)
    let byOutcome = series.attempts.get(status)
    if (byOutcome === undefined) {
      byOutcome = new Map()
      series.attempts.set(status, byOutcome)
    }
    let counter = byOutcome.get(outcome)
    if (counter === undefined) {
      counter = this.attemptsTotal.labels({ function: fn, status, outcome })
      byOutcome.set(outcome, counter)
    }
    counter.inc()
  }

  /** A store transaction took `seconds`. */
  storeOperation(operation: TimedOperation, seconds: number): void {
    this.other(this.storeSeconds, operation, { operation }).observe(seconds)
  }

  /** The Dispatch API answered 429. */
  rejected(reason: RejectionReason): void {
    this.other(this.rejectionsTotal, reason, { reason }).inc()
  }
}
