import type { AttemptInfo } from 'dispatch-functions/protocol'
import { terminalSafe } from './formatRestarts.js'

/** What became of an attempt, in the words the call states use. */
const OUTCOMES: Readonly<Record<AttemptInfo['outcome'], string>> = {
  succeeded: 'succeeded',
  failed: 'failed',
  retry: 'retried',
  tailCall: 'tail call',
  poll: 'suspended',
  restart: 'restarted',
}

const EXCERPT = 120

/**
 * `dispatch calls get`'s attempt history, one line per attempt, oldest first:
 * `#2  2026-01-01T00:00:00.000Z  35 ms  STATUS_TEMPORARY_ERROR  retried  TemporaryError: try later`.
 */
export function formatAttempts(attempts: readonly AttemptInfo[]): string[] {
  if (attempts.length === 0) return ['history:   no attempt recorded yet']
  const rows = attempts.map((a) => {
    const ms = Math.max(0, Date.parse(a.finishedAt) - Date.parse(a.startedAt))
    const message = a.error === undefined ? '' : terminalSafe(`${a.error.type}: ${a.error.message}`)
    const excerpt = message.length > EXCERPT ? `${message.slice(0, EXCERPT - 1)}…` : message
    return [`#${a.attempt}`, a.startedAt, `${ms} ms`, a.status, OUTCOMES[a.outcome], excerpt]
  })
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return [
    `history:   last ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}, oldest first (start, duration, status, outcome, error)`,
    ...rows.map((row) =>
      `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd(),
    ),
  ]
}
