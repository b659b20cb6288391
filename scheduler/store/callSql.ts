/**
 * SQL both stores write alike (the same table and column names in SQLite and PostgreSQL), and the
 * JSON a message is stored as.
 */

/** The columns a call's coroutine state lives in, cleared when it exits, restarts or is redriven. */
export const NO_POLL =
  'poll_state = NULL, min_results = NULL, max_results = NULL, poll_deadline = NULL, poll_error = NULL, results_waiting = 0'
/** The states of a call that is not finished. */
export const LIVE = "('pending', 'running', 'suspended')"
/** The states of a finished call (retention deletes these). */
export const FINISHED = "('succeeded', 'failed', 'cancelled')"

/** A message as stored: its JSON, or NULL when absent. */
export const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value))

/** A value as bound: NULL when absent. */
export const nul = <T>(value: T | undefined): T | null => (value === undefined ? null : value)
