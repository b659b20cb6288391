import { type DispatchCall, dspError, toTimestamp, VALUE_TYPE_URL } from 'dispatch-functions/protocol'
import type { FaultHooks } from '../calls/faultHooks.js'
import type { CallPolicies } from '../calls/retryPolicy.js'
import { toNewCall } from '../calls/toNewCalls.js'
import type { NewCall, ScheduleDefinition, Store, StoredSchedule } from '../store/store.js'
import { dueTicks } from './dueTicks.js'
import type { ResolvedSchedule } from './scheduleOptions.js'

/** The store methods schedules need (every store of this repository has them). */
export type ScheduleStore = Required<
  Pick<Store, 'syncSchedules' | 'listSchedules' | 'fireSchedule' | 'setSchedulePaused' | 'insertCalls'>
>

export interface ScheduleTickerOptions {
  readonly now: () => number
  readonly policies: CallPolicies
  /** Calls were inserted: delivery looks for them now. */
  readonly onCalls: (calls: readonly NewCall[]) => void
  readonly onError: (error: unknown) => void
  /** Without a tick to wait for, look at the schedules this often (another node paused or resumed one). */
  readonly pollMs?: number
  /** Fault injection (the crash tests): told before and after a firing commits. */
  readonly faults?: FaultHooks | undefined
}

/** The idempotency key of a tick's call: the schedule and the tick, for `calls get` and `--search`. */
export function tickKey(name: string, tick: number): string {
  return `schedule:${name}@${toTimestamp(tick)}`
}

/**
 * Fires the ticks of the schedules this scheduler runs (docs/flow-control.md, "Schedules"). Their
 * state (next tick, paused) is in the store, shared by every node: each firing is a compare-and-set
 * on the next tick in the transaction that inserts the tick's call, so of two nodes (or a node that
 * crashed and restarted) exactly one fires a tick.
 */
export class ScheduleTicker {
  private readonly schedules: ReadonlyMap<string, ResolvedSchedule>
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopped = false
  private readonly pollMs: number

  constructor(
    private readonly store: ScheduleStore,
    schedules: readonly ResolvedSchedule[],
    private readonly options: ScheduleTickerOptions,
  ) {
    this.schedules = new Map(schedules.map((schedule) => [schedule.definition.name, schedule]))
    this.pollMs = options.pollMs ?? 1000
  }

  /**
   * Records this scheduler's schedules (a new one's first tick is the first after now; a known one
   * keeps its next tick, so ticks missed while no scheduler ran are caught up or skipped), and checks
   * each once: an endpoint the scheduler refuses fails here, not at every tick.
   */
  async sync(): Promise<void> {
    const now = this.options.now()
    for (const schedule of this.schedules.values()) this.callOf(schedule.definition, schedule, now, now, undefined)
    await this.store.syncSchedules(
      [...this.schedules.values()].flatMap(({ definition, expression }) => {
        const nextTickAt = expression.nextAfter(now)
        return nextTickAt === undefined ? [] : [{ ...definition, nextTickAt }]
      }),
      now,
    )
  }

  /** Fires due ticks now and then at each next tick, until {@link stop}. */
  start(): void {
    this.wake()
  }

  /** Looks at the schedules now (a pause or resume on this node). */
  wake(): void {
    // A node that runs no schedule never looks (another node's pause or trigger needs no ticker here).
    if (this.stopped || this.schedules.size === 0) return
    if (this.running !== undefined) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.running = this.fireDue()
      .then(
        (next) => next,
        (error: unknown) => {
          this.options.onError(error)
          return undefined
        },
      )
      .then((next) => {
        this.running = undefined
        if (this.stopped) return
        if (this.again) {
          this.again = false
          this.wake()
          return
        }
        const wait = next === undefined ? this.pollMs : Math.min(this.pollMs, Math.max(0, next - this.options.now()))
        this.timer = setTimeout(() => this.wake(), wait)
        this.timer.unref()
      })
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  /** Fires every due tick of this scheduler's schedules; resolves to the earliest next tick among them. */
  async fireDue(): Promise<number | undefined> {
    let earliest: number | undefined
    for (const stored of await this.store.listSchedules()) {
      const schedule = this.schedules.get(stored.name)
      if (schedule === undefined || stored.paused) continue
      const next = await this.fireOne(stored, schedule)
      if (next !== undefined && (earliest === undefined || next < earliest)) earliest = next
    }
    return earliest
  }

  private async fireOne(stored: StoredSchedule, schedule: ResolvedSchedule): Promise<number | undefined> {
    const now = this.options.now()
    if (stored.nextTickAt === undefined || stored.nextTickAt > now) return stored.nextTickAt
    const { ticks, nextTickAt } = dueTicks(stored, schedule.expression, now)
    const calls = ticks.map((tick) => this.callOf(schedule.definition, schedule, tick, now, tickKey(stored.name, tick)))
    this.options.faults?.at('schedule-before-fire')
    const fired = await this.store.fireSchedule(
      { name: stored.name, expected: stored.nextTickAt, nextTickAt, lastTickAt: ticks.at(-1), calls },
      now,
    )
    if (fired && calls.length > 0) this.options.faults?.at('schedule-after-fire')
    // Not fired: another node fired this tick (or paused the schedule) first; its next tick is theirs.
    if (fired && calls.length > 0) this.options.onCalls(calls)
    return fired ? nextTickAt : undefined
  }

  /**
   * One call of the schedule now, outside its ticks (`dispatch schedules trigger`), from the stored
   * definition: any node can trigger a schedule another node runs.
   */
  async trigger(stored: StoredSchedule): Promise<string> {
    const now = this.options.now()
    const call = this.callOf(stored, this.schedules.get(stored.name), now, now, undefined)
    // The key says where the call came from; the call's own id in it makes every trigger a call of its own.
    const key = `schedule:${stored.name}@trigger:${call.dispatchId}`
    const [result] = await this.store.insertCalls([{ ...call, idempotencyKey: key }], {
      now,
      idempotencyWindowMs: 0,
    })
    this.options.onCalls([call])
    return result!.dispatchId
  }

  private callOf(
    definition: ScheduleDefinition,
    schedule: ResolvedSchedule | undefined,
    tick: number,
    now: number,
    key: string | undefined,
  ): NewCall {
    const wire: DispatchCall = {
      endpoint: definition.endpoint,
      function: definition.function,
      input: { '@type': VALUE_TYPE_URL, value: [...definition.input] },
    }
    if (key !== undefined) wire.idempotencyKey = key
    if (schedule?.flow !== undefined) {
      // A tick is one call by construction: a debounce would only delay it (and hold the next tick's).
      const { debounce: _, ...flow } = schedule.flow
      if (Object.keys(flow).length > 0) wire.flow = flow
    }
    try {
      return toNewCall(wire, undefined, this.options.policies, now)
    } catch (cause) {
      throw dspError(
        'DSP3060',
        `schedule ${definition.name} cannot call ${definition.function} at ${definition.endpoint} (tick ${toTimestamp(tick)}): ${(cause as Error).message}`,
        { hint: 'fix the schedule in the scheduler options, or allow its endpoint (allowEndpoints)', cause },
      )
    }
  }
}
