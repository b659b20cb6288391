import { type Static, Type } from 'typebox'

// Schedules (docs/flow-control.md, "Schedules"): a dispatch function run on a cron expression. The
// bounds the generator checks a `@schedule` tag with and the scheduler checks its options with, and
// the messages of the scheduler's ScheduleService (`dispatch schedules ...`).

/** The path prefix of the ScheduleService methods on the scheduler's API. */
export const SCHEDULE_SERVICE_PATH = '/dispatch.scheduler.v1.ScheduleService'

/** The most missed ticks one schedule catches up on after downtime (`missed=catchup:N`). */
export const MAX_SCHEDULE_CATCH_UP = 1000

/** The missed ticks `missed=catchup` without a number catches up on. */
export const DEFAULT_SCHEDULE_CATCH_UP = 10

/** A schedule's name: what `dispatch schedules pause NAME` names it by. */
export const SCHEDULE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$'

/** One schedule as the ScheduleService shows it. */
export const ScheduleInfo = Type.Object({
  name: Type.String(),
  function: Type.String(),
  endpoint: Type.String(),
  /** The cron expression (5 fields, or 6 with seconds first). */
  cron: Type.String(),
  /** The IANA time zone the expression is read in. */
  timezone: Type.String(),
  /** The arguments each tick's call gets (a JSON array). */
  input: Type.Array(Type.Unknown()),
  /** After downtime: `skip` the missed ticks, or `catchup` on the latest `catchUp` of them. */
  missed: Type.Union([Type.Literal('skip'), Type.Literal('catchup')]),
  catchUp: Type.Integer({ minimum: 0 }),
  paused: Type.Boolean(),
  /** RFC 3339: the next tick (absent while paused). */
  nextTickAt: Type.Optional(Type.String()),
  /** RFC 3339: the last tick that produced a call. */
  lastTickAt: Type.Optional(Type.String()),
  /** Whether the scheduler that answered runs it (it is in its options); another node may. */
  declared: Type.Boolean(),
})
export type ScheduleInfo = Static<typeof ScheduleInfo>

export const ListSchedulesRequest = Type.Object({}, { additionalProperties: false })
export type ListSchedulesRequest = Static<typeof ListSchedulesRequest>

export const ListSchedulesResponse = Type.Object({ schedules: Type.Array(ScheduleInfo) })
export type ListSchedulesResponse = Static<typeof ListSchedulesResponse>

/** Pause, Resume and Trigger name one schedule. */
export const ScheduleRequest = Type.Object(
  { name: Type.String({ pattern: SCHEDULE_NAME_PATTERN }) },
  { additionalProperties: false },
)
export type ScheduleRequest = Static<typeof ScheduleRequest>

export const ScheduleResponse = Type.Object({
  schedule: ScheduleInfo,
  /** Trigger: the call it dispatched. */
  dispatchId: Type.Optional(Type.String()),
})
export type ScheduleResponse = Static<typeof ScheduleResponse>
