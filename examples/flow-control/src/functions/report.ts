import { setTimeout as pause } from 'node:timers/promises'
import type { Static } from 'typebox'
import { recordRun } from '../journal.js'
import type { ReportName } from '../schemas.js'

/**
 * Renders a report on the one renderer there is (one at a time), so reports queue up. Each call has
 * the declared priority 10 unless it gives its own: `dispatchClient.report(name, { priority: 60 })`
 * goes before the reports of the queue that have waited less than 50 minutes longer than it.
 * @priority 10
 * @concurrency 1
 */
export async function report(name: Static<typeof ReportName>): Promise<void> {
  await recordRun('report', '', name, () => pause(150))
}
