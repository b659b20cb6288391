import { type CallCounts, type Completion, type NewCall, type QueueBacklog, UNFINISHED_STATES } from '../store/store.js'
import { EXPOSITION_CONTENT_TYPE, header, labelText, numberText } from './exposition.js'
import { FastHistogram, type HistogramSeries } from './fastHistogram.js'
import { processMetricsText } from './processRegistry.js'
import { SpacedRead } from './spacedRead.js'
import { TextCounter, type TextSeries } from './textCounter.js'
import type { TimedOperation } from './timedStore.js'

/** What the scheduler knows now, read on each scrape (nothing is kept between scrapes). */
export interface LiveFigures {
  /**
   * The store's counts per function and state: of every call kept (a scan), or of the unfinished
   * ones only (a range of an index); {@link SchedulerMetrics} spaces both out.
   */
  readonly countCalls: (unfinishedOnly: boolean) => Promise<CallCounts[]>
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
/**
 * How often, at most, finished calls are counted (ms): a scan of every call kept, so of the whole
 * history until retention deletes it. Unfinished calls, what alerts watch, are counted every 10 s.
 */
const FINISHED_COUNT_AGE_MS = 60_000
const FINISHED_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled'])
/** The queues with the oldest due calls that get series of their own (bounded label cardinality). */
const BACKLOG_QUEUES = 20

/** One function's series. */
interface FunctionSeries {
  readonly accepted: TextSeries
  readonly startDelay: HistogramSeries
  readonly duration: HistogramSeries
  /** By status, then outcome. */
  readonly attempts: Map<string, Map<string, TextSeries>>
}

/** A gauge read when scraped: its header, and its samples as `[label text, value]`. */
type GaugeSamples = readonly (readonly [string, number])[]

const HELP = {
  calls:
    "Calls in the store by function and state (the store's counts, re-read by a scrape at most every 10 s for unfinished calls, 60 s for finished ones).",
  retrying: 'Pending calls that have been attempted before (waiting for a retry), by function.',
  oldestDue: 'How long the earliest due unfinished call has been due (0: nothing is overdue).',
  queueDue: `Calls due now per queue (endpoint, function, fairness key): the ${BACKLOG_QUEUES} queues with the oldest due calls, re-read by a scrape at most every 10 s.`,
  queueOldest: `How long the oldest due call of each queue has been due (the same ${BACKLOG_QUEUES} queues).`,
  limit: 'The adaptive concurrency limit of each endpoint origin.',
  endpointInFlight: 'Attempts in flight at each endpoint origin.',
  inFlight: 'Attempts in flight (claimed, outcome not yet recorded), over all endpoints.',
  unfinished: 'Pending, running and suspended calls, as back-pressure estimates them (absent when it is off).',
  queued: 'Calls accepted and waiting for their commit (group commit).',
}

function gauge(name: string, help: string, samples: GaugeSamples): string {
  let text = header(name, help, 'gauge')
  for (const [labels, value] of samples) text += `${name}${labels} ${numberText(value)}\n`
  return text
}

/**
 * The scheduler's Prometheus metrics, its own (two schedulers in one process each serve only
 * theirs; never prom-client's global registry), rendered as Prometheus' text format. Delivery and
 * the API report events as they happen (cheap counter and histogram updates on series that keep
 * their rendered labels, so a scrape only joins strings and numbers); the gauges are read from the
 * scheduler's state and the store when scraped.
 */
export class SchedulerMetrics {
  readonly contentType = EXPOSITION_CONTENT_TYPE
  private readonly processMetrics: boolean
  private readonly acceptedTotal = new TextCounter(
    'dispatch_calls_accepted_total',
    'Calls the Dispatch API accepted and stored (idempotent repeats not counted), by function.',
    'counter',
    ['function'],
  )
  private readonly attemptsTotal = new TextCounter(
    'dispatch_attempts_total',
    'Attempts that ended, by function, status and what followed (succeeded, failed, retry, tailCall, poll, restart).',
    'counter',
    ['function', 'status', 'outcome'],
  )
  private readonly attemptSeconds = new FastHistogram(
    'dispatch_attempt_duration_seconds',
    'How long attempts took, from sending the RunRequest to its answer, by function.',
    'function',
    DURATION_BUCKETS,
  )
  private readonly startDelaySeconds = new FastHistogram(
    'dispatch_call_start_delay_seconds',
    "From a call's acceptance to the start of its first attempt (a dispatch delay included), by function.",
    'function',
    DURATION_BUCKETS,
  )
  private readonly storeSeconds = new FastHistogram(
    'dispatch_store_seconds',
    'Latency of the store transactions that accept (insertCalls), claim (claimCalls, claimQueues) and record (completeAttempts) calls.',
    'operation',
    STORE_BUCKETS,
  )
  private readonly rejectionsTotal = new TextCounter(
    'dispatch_backpressure_rejections_total',
    'Dispatch requests refused with 429 by back-pressure, by reason (queued: the store is behind; unfinished: the endpoints are behind).',
    'counter',
    ['reason'],
  )
  /**
   * Series by function (then status and outcome), keyed by the strings the calls carry: nothing is
   * built or hashed per attempt.
   */
  private readonly byFunction = new Map<string, FunctionSeries>()
  private readonly byOperation = new Map<string, HistogramSeries>()
  private readonly byReason = new Map<string, TextSeries>()
  private readonly unfinishedCounts: SpacedRead<CallCounts[]>
  private readonly allCounts: SpacedRead<CallCounts[]>
  /** The finished calls' rows of the last full count, and the unfinished rows of the last count of those. */
  private finishedRows: readonly CallCounts[] = []
  private unfinishedRows: readonly CallCounts[] = []
  private readonly backlog: SpacedRead<QueueBacklog[]> | undefined
  /** The store-derived gauges' last samples: kept when a read fails (the next scrape reads again). */
  private callSamples: { calls: GaugeSamples; retrying: GaugeSamples } = { calls: [], retrying: [] }
  private backlogRows: readonly QueueBacklog[] = []
  /** Rendered label text of the gauges' label sets, which repeat from scrape to scrape. */
  private readonly labelCache = new Map<string, string>()

  constructor(
    private readonly live: LiveFigures,
    options: { readonly processMetrics?: boolean } = {},
  ) {
    this.processMetrics = options.processMetrics !== false
    this.unfinishedCounts = new SpacedRead(() => live.countCalls(true))
    this.allCounts = new SpacedRead(() => live.countCalls(false), FINISHED_COUNT_AGE_MS)
    const backlog = live.queueBacklog
    this.backlog = backlog === undefined ? undefined : new SpacedRead(() => backlog(BACKLOG_QUEUES))
  }

  /** The Prometheus text exposition of every metric, with the process's unless turned off. */
  async scrape(): Promise<string> {
    const [own, processText] = await Promise.all([
      this.render(),
      this.processMetrics ? processMetricsText() : Promise.resolve(''),
    ])
    return processText === '' ? own : `${own}\n${processText}`
  }

  private labels(...pairs: [string, string][]): string {
    const key = pairs.map(([, value]) => value).join('\u0000') + pairs.map(([name]) => name).join(',')
    let text = this.labelCache.get(key)
    if (text === undefined) {
      text = labelText(pairs)
      // Label sets come from bounded sets (functions, origins, the 20 oldest queues), but a long-lived
      // scheduler sees queues come and go: start over rather than grow.
      if (this.labelCache.size > 10_000) this.labelCache.clear()
      this.labelCache.set(key, text)
    }
    return text
  }

  private async render(): Promise<string> {
    const live = this.live
    const [all, unfinishedCounts, queues, next] = await Promise.all([
      this.allCounts.get(),
      this.unfinishedCounts.get(),
      this.backlog?.get(),
      live.nextDueAt().catch(() => undefined),
    ])
    if (all !== undefined || unfinishedCounts !== undefined) {
      if (all !== undefined) this.finishedRows = all.filter((c) => FINISHED_STATES.has(c.state))
      // Filtered: a store written before the option existed counts every state, finished ones included.
      if (unfinishedCounts !== undefined)
        this.unfinishedRows = unfinishedCounts.filter((c) => UNFINISHED_STATES.has(c.state))
      const counts = [...this.finishedRows, ...this.unfinishedRows]
      this.callSamples = {
        calls: counts.map((c) => [this.labels(['function', c.function], ['state', c.state]), c.count] as const),
        retrying: counts
          .filter((c) => c.state === 'pending')
          .map((c) => [this.labels(['function', c.function]), c.retrying] as const),
      }
    }
    if (queues !== undefined) this.backlogRows = queues
    const now = live.now()
    const endpoints = live.endpoints()
    const queueLabels = (q: QueueBacklog) =>
      this.labels(['endpoint', q.endpoint], ['function', q.function], ['fairness_key', q.fairnessKey ?? ''])
    const unfinished = live.unfinishedCalls()
    const queued = live.queuedCalls()
    const parts = [
      this.acceptedTotal.render(),
      this.attemptsTotal.render(),
      this.attemptSeconds.render(),
      this.startDelaySeconds.render(),
      this.storeSeconds.render(),
      this.rejectionsTotal.render(),
      gauge('dispatch_calls', HELP.calls, this.callSamples.calls),
      gauge('dispatch_calls_retrying', HELP.retrying, this.callSamples.retrying),
      gauge('dispatch_oldest_due_call_age_seconds', HELP.oldestDue, [
        ['', next === undefined ? 0 : Math.max(0, (now - next) / 1000)],
      ]),
    ]
    if (this.backlog !== undefined) {
      parts.push(
        gauge(
          'dispatch_queue_due_calls',
          HELP.queueDue,
          this.backlogRows.map((q) => [queueLabels(q), q.due]),
        ),
        gauge(
          'dispatch_queue_oldest_due_seconds',
          HELP.queueOldest,
          this.backlogRows.map((q) => [queueLabels(q), Math.max(0, (now - q.oldestDueAt) / 1000)]),
        ),
      )
    }
    parts.push(
      gauge(
        'dispatch_endpoint_concurrency_limit',
        HELP.limit,
        endpoints.map((e) => [this.labels(['endpoint', e.endpoint]), e.limit]),
      ),
      gauge(
        'dispatch_endpoint_in_flight',
        HELP.endpointInFlight,
        endpoints.map((e) => [this.labels(['endpoint', e.endpoint]), e.inFlight]),
      ),
      gauge('dispatch_attempts_in_flight', HELP.inFlight, [['', live.inFlight()]]),
      gauge('dispatch_unfinished_calls', HELP.unfinished, unfinished === undefined ? [] : [['', unfinished]]),
      gauge('dispatch_queued_calls', HELP.queued, queued === undefined ? [] : [['', queued]]),
    )
    return parts.join('\n')
  }

  private series(fn: string): FunctionSeries {
    let series = this.byFunction.get(fn)
    if (series === undefined) {
      series = {
        accepted: this.acceptedTotal.labels(fn),
        startDelay: this.startDelaySeconds.labels(fn),
        duration: this.attemptSeconds.labels(fn),
        attempts: new Map(),
      }
      this.byFunction.set(fn, series)
    }
    return series
  }

  /** New calls were stored (the Dispatch API, after the commit). */
  accepted(calls: readonly NewCall[]): void {
    for (const call of calls) this.series(call.function).accepted.value++
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
      counter = this.attemptsTotal.labels(fn, status, outcome)
      byOutcome.set(outcome, counter)
    }
    counter.value++
  }

  /** A store transaction took `seconds`. */
  storeOperation(operation: TimedOperation, seconds: number): void {
    let series = this.byOperation.get(operation)
    if (series === undefined) {
      series = this.storeSeconds.labels(operation)
      this.byOperation.set(operation, series)
    }
    series.observe(seconds)
  }

  /** The Dispatch API answered 429. */
  rejected(reason: RejectionReason): void {
    let counter = this.byReason.get(reason)
    if (counter === undefined) {
      counter = this.rejectionsTotal.labels(reason)
      this.byReason.set(reason, counter)
    }
    counter.value++
  }
}
