import { join } from 'node:path'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { runCli, runScript } from '../cli/runCli.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder } from './helpers.js'

// Schedules end to end (docs/flow-control.md, "Schedules"): an in-process route's `@schedule`, the
// deployment's override of it, and `dispatch schedules list|pause|resume|trigger` on the running
// scheduler; a malformed schedule refuses to start.
const seen: string[] = []
const routes = defineRoutes({
  cleanup: {
    input: tupleSchema([Type.String()], 0),
    output: undefined,
    handler: async (note?: string) => {
      seen.push(note ?? '')
    },
    source: 'test/scheduler/schedules.test.ts:1',
    // Declared nightly; the deployment below runs it every second.
    flow: { schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin' } },
  },
})

let folder: string
let test: TestScheduler
let env: Record<string, string>
beforeAll(async () => {
  folder = await tempFolder('dispatch-schedules-')
  test = await startTestScheduler(join(folder, 'dispatch.db'), {
    routes,
    schedules: [{ name: 'cleanup', function: 'cleanup', cron: '* * * * * *', input: ['tick'] }],
  })
  env = { DISPATCH_API_URL: test.scheduler.url, DISPATCH_API_KEY: test.scheduler.apiKey }
})
afterAll(async () => {
  await test.scheduler.close()
  await removeFolder(folder)
})

describe('schedules on a running scheduler', () => {
  it('runs the route with the input of each tick, the deployment override winning over the declaration', async () => {
    const calls = await eventually(async () => {
      const page = await test.calls.list({ state: 'succeeded', function: 'cleanup' })
      return page.calls.length >= 2 ? page.calls : undefined
    })
    const keys = calls.map((call) => call.idempotencyKey)
    expect(new Set(keys).size).toBe(keys.length)
    for (const key of keys) expect(key).toMatch(/^schedule:cleanup@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
    expect(seen).toContain('tick')
  })

  it('dispatch schedules: list, trigger, pause, resume; an unknown name is DSP3061', async () => {
    const [list, trigger, unknown] = await Promise.all([
      runCli(['schedules', 'list', '--json'], env),
      runCli(['schedules', 'trigger', 'cleanup'], env),
      runCli(['schedules', 'pause', 'nope'], env),
    ])
    expect(list.code, list.stderr).toBe(0)
    const [schedule] = JSON.parse(list.stdout).schedules
    expect(schedule).toMatchObject({
      name: 'cleanup',
      function: 'cleanup',
      endpoint: test.scheduler.inProcessEndpoint,
      cron: '* * * * * *',
      timezone: 'UTC',
      input: ['tick'],
      missed: 'skip',
      paused: false,
      declared: true,
    })
    expect(trigger.code, trigger.stderr).toBe(0)
    const dispatchId = trigger.stdout.trim()
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toMatch(/DSP3061.*nope/)
    expect(unknown.stderr).toContain('npx dispatch schedules list shows the schedules it knows')

    const paused = await runCli(['schedules', 'pause', 'cleanup'], env)
    expect(paused.code, paused.stderr).toBe(0)
    expect(paused.stdout).toMatch(/^cleanup {2}"\* \* \* \* \* \*" UTC {2}paused/)
    const [resumed, get] = await Promise.all([
      runCli(['schedules', 'resume', 'cleanup'], env),
      runCli(['calls', 'get', dispatchId], env),
    ])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(/^cleanup {2}"\* \* \* \* \* \*" UTC {2}next \d{4}-/)
    expect(get.stdout).toMatch(/schedule: {2}cleanup \(triggered by hand\)/)
  })

  it('refuses to start with a malformed schedule (DSP3060), naming it', async () => {
    const attempts = [
      { schedules: [{ function: 'cleanup', cron: '61 * * * *' }], message: /schedules\[0\].*not a cron expression/ },
      { schedules: [{ function: 'cleanup', cron: '0 3 * * *', timezone: 'Mars/Olympus' }], message: /IANA/ },
      { schedules: [{ function: 'cleanup', cron: '0 3 * * *', missed: 'sometimes' }], message: /missed=sometimes/ },
      { schedules: [{ function: 'elsewhere', cron: '0 3 * * *' }], message: /has no endpoint/ },
      // A schedules file is JSON: values of another type than documented are refused as clearly.
      {
        schedules: [{ name: ['a'], function: 'cleanup', cron: '0 3 * * *' }],
        message: /\["a"\] is not a schedule name/,
      },
      { schedules: [{ function: 'cleanup', cron: '0 3 * * *', endpoint: 5 }], message: /endpoint 5 is not a URL/ },
      {
        schedules: [{ name: 'odd', function: 'clean\u001b[2Jup', cron: '0 3 * * *', endpoint: 'http://127.0.0.1:9/' }],
        message: /"clean\\u001b\[2Jup" is not a function name/,
      },
      { schedules: [{ function: 'cleanup', cron: '0 3 * * *', flow: { priority: 500 } }], message: /flow\/priority/ },
      {
        schedules: [
          { function: 'cleanup', cron: '0 3 * * *' },
          { function: 'cleanup', cron: '0 4 * * *' },
        ],
        message: /second schedule named "cleanup"/,
      },
    ] as const
    for (const { schedules, message } of attempts) {
      await expect(
        startScheduler({ dbPath: join(folder, 'refused.db'), routes, schedules: schedules as never }),
      ).rejects.toMatchObject({ code: 'DSP3060', message: expect.stringMatching(message) })
    }
  })

  it('trigger of a stored schedule whose endpoint this scheduler refuses: DSP3060, a refusal, not a 500', async () => {
    const db = join(folder, 'refusing.db')
    const far = { name: 'far', function: 'publish', endpoint: 'http://127.0.0.1:9/', cron: '0 3 * * *' }
    const first = await startTestScheduler(db, { schedules: [far] })
    await first.scheduler.close()
    // Restarted without the schedule (it stays stored) and with an allow list that leaves its endpoint out.
    const second = await startTestScheduler(db, { allowEndpoints: ['http://127.0.0.1:8/'] })
    try {
      const listed = await second.post('/dispatch.scheduler.v1.ScheduleService/List', {})
      expect(listed.body.schedules).toEqual([expect.objectContaining({ name: 'far', declared: false })])
      const answer = await second.post('/dispatch.scheduler.v1.ScheduleService/Trigger', { name: 'far' })
      expect(answer.status).toBe(400)
      expect(answer.body).toMatchObject({ code: 'failed_precondition', message: expect.stringMatching(/^DSP3060: /) })
    } finally {
      await second.scheduler.close()
    }
  })

  it('examples/schedules runs: ticks, pause, trigger, resume (docs/flow-control.md)', async () => {
    const { code, stdout, stderr } = await runScript('examples/schedules/main.ts')
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toMatch(/ticks: schedule:heartbeat@\S+, schedule:heartbeat@\S+, schedule:heartbeat@/)
    expect(stdout).toContain('triggered by hand: succeeded')
    expect(stdout).toContain('one call per tick')
  })
})
