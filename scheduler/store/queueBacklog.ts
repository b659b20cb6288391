import type { QueueBacklog } from './store.js'

/** A row of {@link backlogSql}, as both stores return it (PostgreSQL's BIGINTs may come as text). */
export interface BacklogRow {
  endpoint: string
  function: string
  fairness_key: string | null
  due: number | string
  oldest: number | string
}

/**
 * The queues with due calls, their count and earliest due time, oldest first: the same SQL on both
 * stores (`table` schema-qualified on PostgreSQL, the parameters by their placeholders). A range
 * scan of the due-time index over the due calls only.
 */
export function backlogSql(table: string, now: string, limit: string): string {
  return `SELECT endpoint, function, fairness_key, COUNT(*) AS due, MIN(due_at) AS oldest
    FROM ${table} WHERE due_at IS NOT NULL AND due_at <= ${now}
    GROUP BY endpoint, function, fairness_key ORDER BY oldest LIMIT ${limit}`
}

export function toBacklog(row: BacklogRow): QueueBacklog {
  return {
    endpoint: row.endpoint,
    function: row.function,
    fairnessKey: row.fairness_key ?? undefined,
    due: Number(row.due),
    oldestDueAt: Number(row.oldest),
  }
}
