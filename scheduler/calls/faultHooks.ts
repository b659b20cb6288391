/**
 * The steps a fault-injection harness can stop the scheduler at: `dispatch-before-commit` (a batch
 * validated, not yet stored), `dispatch-after-commit` (stored, the ids not yet sent), `after-claim`
 * (calls leased, not yet delivered), `after-delivery` (an endpoint answered, the outcome not yet
 * recorded), `poll-before-record` (a coroutine answered a Poll: its state and child calls are not yet
 * recorded), `schedule-before-fire` / `schedule-after-fire` (a schedule's due ticks computed, their
 * calls not yet stored / stored). Each is a moment where a crash must lose nothing the scheduler
 * acknowledged — and, for a schedule, fire no tick twice.
 */
export type FaultPoint =
  | 'dispatch-before-commit'
  | 'dispatch-after-commit'
  | 'after-claim'
  | 'after-delivery'
  | 'poll-before-record'
  | 'schedule-before-fire'
  | 'schedule-after-fire'

/**
 * Called at each {@link FaultPoint} reached (the fault suite's scheduler process kills itself at
 * one). Absent outside fault tests: each point then costs one check of undefined.
 */
export interface FaultHooks {
  at(point: FaultPoint): void
}
