import { Type } from 'typebox'
import { afterEach, describe, expect, it } from 'vitest'
import { createCallServiceClient, defineRoutes, now, tupleSchema } from '../../runtime/index.js'
import { createTestEnvironment, type TestEnvironment } from '../../testing/index.js'

// A route's `@schedule` in the test environment: its ticks follow the environment's clock, so a
// test moves time and sees one call per tick, run at its tick (docs/testing.md, docs/flow-control.md).
const ran: string[] = []
const routes = defineRoutes({
  report: {
    input: tupleSchema([Type.String()]),
    output: undefined,
    handler: async (kind: string) => {
      ran.push(`${kind} ${now().toISOString()}`)
    },
    source: 'test/testing/scheduleEnvironment.test.ts:1',
    flow: { schedule: { cron: '0 * * * *', timezone: 'Europe/Paris', input: ['hourly'] } },
  },
})

let env: TestEnvironment<typeof routes> | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

describe('schedules in the test environment', () => {
  it('makes one call per tick as advanceTime moves the clock, each run at its tick', async () => {
    env = await createTestEnvironment({ routes, startTime: Date.parse('2026-01-01T00:30:00Z') })
    await env.advanceTime('3h')
    expect(ran).toEqual([
      'hourly 2026-01-01T01:00:00.000Z',
      'hourly 2026-01-01T02:00:00.000Z',
      'hourly 2026-01-01T03:00:00.000Z',
    ])
    const { calls } = await createCallServiceClient({ apiUrl: env.url }).list({ function: 'report' })
    expect(calls.map((call) => call.idempotencyKey).sort()).toEqual([
      'schedule:report@2026-01-01T01:00:00.000Z',
      'schedule:report@2026-01-01T02:00:00.000Z',
      'schedule:report@2026-01-01T03:00:00.000Z',
    ])
  })
})
