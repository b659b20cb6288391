import { ATTEMPT_ERROR_EXCERPT, type Completion, type StoredAttempt } from './store.js'

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
