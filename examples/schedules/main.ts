/**
 * A function run on a cron expression, end to end (docs/flow-control.md, "Schedules"): a scheduler
 * with an in-process function scheduled every second waits for three ticks' calls, then pauses the
 * schedule, triggers one call by hand and resumes it — what `dispatch schedules pause|trigger|resume`
 * do. Exits 0 when every step did what it should. Leaves nothing behind (a temporary database).
 *
 *   npx tsx examples/schedules/main.ts
 *
 * In an application the function is declared with a tag, `dispatch gen` writes the `flow.schedule`
 * below into the route table (and `schedules.gen.json`, which `dispatch run` reads):
 *
 *   /** @schedule "* * * * * *" input=["example"] *\/
 *   export async function heartbeat(note?: Static<typeof Note>): Promise<void> { ... }
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCallServiceClient, createScheduleServiceClient, defineRoutes, tupleSchema } from 'dispatch-functions'
import { startScheduler } from 'dispatch-functions-tools/scheduler'
import { Type } from 'typebox'

const routes = defineRoutes({
  heartbeat: {
    input: tupleSchema([Type.String()], 0),
    output: undefined,
    source: 'examples/schedules/main.ts',
    handler: async (note?: string) => {
      console.log(`heartbeat (${note ?? 'no note'}) at ${new Date().toISOString()}`)
    },
    // Every second (cron with seconds first), in UTC; ticks missed while no scheduler ran are skipped.
    flow: { schedule: { cron: '* * * * * *', input: ['example'] } },
  },
})

const folder = mkdtempSync(join(tmpdir(), 'dispatch-schedules-'))
const scheduler = await startScheduler({ dbPath: join(folder, 'dispatch.db'), routes })
const api = { apiUrl: scheduler.url, apiKey: scheduler.apiKey }
const calls = createCallServiceClient(api)
const schedules = createScheduleServiceClient(api)
let ok = false
try {
  const ticked = async (count: number) => {
    for (;;) {
      const { calls: done } = await calls.list({ function: 'heartbeat', state: 'succeeded' })
      if (done.length >= count) return done
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const done = await ticked(3)
  console.log(`ticks: ${done.map((call) => call.idempotencyKey).join(', ')}`)

  const { schedule } = await schedules.pause('heartbeat')
  console.log(`paused: ${schedule.paused}`)
  const { dispatchId } = await schedules.trigger('heartbeat')
  const triggered = await calls.wait(dispatchId!, '10s')
  console.log(`triggered by hand: ${triggered.call.state}`)
  const resumed = await schedules.resume('heartbeat')
  console.log(`resumed: next tick ${resumed.schedule.nextTickAt}`)
  ok = new Set(done.map((call) => call.idempotencyKey)).size === done.length && triggered.call.state === 'succeeded'
  console.log(ok ? 'one call per tick' : 'FAILED')
} finally {
  await scheduler.close()
  rmSync(folder, { recursive: true, force: true })
}
process.exit(ok ? 0 : 1)
