import { recordRun } from '../journal.js'

/**
 * Says the app is alive, every second (6 fields: seconds first), UTC. A function without parameters
 * is a dispatch function when it declares a schedule: a tick has no caller to give it arguments.
 * @schedule "* * * * * *"
 */
export async function heartbeat(): Promise<void> {
  await recordRun('heartbeat', '', null, async () => {})
}
