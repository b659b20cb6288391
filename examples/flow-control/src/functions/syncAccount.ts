import { setTimeout as pause } from 'node:timers/promises'
import type { Static } from 'typebox'
import { recordRun } from '../journal.js'
import type { SyncJob } from '../schemas.js'

/**
 * Syncs one account with the bank: never two at once for the same account (the bank refuses
 * overlapping sessions), while other accounts sync meanwhile.
 * @concurrency 1 key=accountId
 */
export async function syncAccount(job: Static<typeof SyncJob>): Promise<void> {
  await recordRun('syncAccount', job.accountId, job, () => pause(150))
}
