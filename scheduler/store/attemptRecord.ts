import type { ErrorMessage, Status } from 'dispatch-functions/protocol'
import { ATTEMPT_ERROR_EXCERPT, type Completion, type StoredAttempt } from './store.js'

/** A row of `call_attempts` as both stores read it (the same columns in SQLite and PostgreSQL). */
export interface AttemptRow {
  attempt: number
  started_at: number
  finished_at: number
  status: string
  outcome: string
  error: string | null
}

/** The columns {@link AttemptRow} reads, oldest entry first when ordered by `seq`. */
export const ATTEMPT_COLUMNS = 'attempt, started_at, finished_at, status, outcome, error'

/** The history entry a completion adds to its call, as both stores write it. */
export function attemptRecord(c: Completion): StoredAttempt {
  const error = 'error' in c ? c.error : c.kind === 'poll' ? c.poll.error : undefined
  return {
    attempt: c.attempt,
    startedAt: Math.min(c.startedAt ?? c.now, c.now),
    finishedAt: c.now,
    status: c.status,
    outcome: c.kind,
    error:
      error === undefined
        ? undefined
        : {
            type: error.type.slice(0, 200),
            message:
              error.message.length > ATTEMPT_ERROR_EXCERPT
                ? `${error.message.slice(0, ATTEMPT_ERROR_EXCERPT - 1)}…`
                : error.message,
          },
  }
}

/** A history entry as read back. */
export function toStoredAttempt(row: AttemptRow): StoredAttempt {
  return {
    attempt: row.attempt,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status as Status,
    outcome: row.outcome as Completion['kind'],
    error: row.error === null ? undefined : (JSON.parse(row.error) as ErrorMessage),
  }
}
