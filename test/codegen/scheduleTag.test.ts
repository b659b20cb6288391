import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generate } from 'dispatch-functions-tools/codegen'
import { describe, expect, it } from 'vitest'
import { flowTagProjects } from './helpers.js'

const project = flowTagProjects()

const IMPORTS = ["import type { Static } from 'typebox'", "import type { Url } from '../schemas/common.js'"]

describe('generate: @schedule (docs/flow-control.md, "Schedules")', () => {
  it('reads the expression, zone, missed policy and input into the route table and schedules.gen.json', async () => {
    const cwd = project([
      ...IMPORTS,
      '/**',
      ' * Cleans up every night.',
      ' * @schedule "0 3 * * *" tz=Europe/Berlin missed=catchup:5',
      ' */',
      'export async function nightly(): Promise<void> {}',
      '/**',
      ' * @concurrency 1 key=url',
      ' * @schedule "0-59/10 * * * * *" input=["https://example.test/hook", "and spaces"]',
      ' */',
      'export async function ping(url: Static<typeof Url>, note?: Static<typeof Url>): Promise<void> {}',
      '/** @schedule "@hourly" */',
      'export async function hourly(url?: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.diagnostics).toEqual([])
    const flow = Object.fromEntries(result.functions.map((f) => [f.name, f.flow]))
    expect(flow['nightly']).toEqual({
      schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin', missed: 'catchup', catchUp: 5 },
    })
    expect(flow['ping']).toEqual({
      concurrency: { limit: 1, key: { arg: 0, path: [] } },
      schedule: { cron: '0-59/10 * * * * *', input: ['https://example.test/hook', 'and spaces'] },
    })
    expect(flow['hourly']).toEqual({ schedule: { cron: '@hourly' } })
    const routes = result.files.find((file) => file.path.endsWith('routes.gen.ts'))!.content
    expect(routes).toContain(
      "flow: { schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin', missed: 'catchup', catchUp: 5 } },",
    )
    const file = join(cwd, 'src/dispatch.gen/schedules.gen.json')
    expect(JSON.parse(readFileSync(file, 'utf8')).schedules).toEqual([
      { name: 'hourly', function: 'hourly', cron: '@hourly', missed: 'skip' },
      { name: 'nightly', function: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', missed: 'catchup:5' },
      {
        name: 'ping',
        function: 'ping',
        cron: '0-59/10 * * * * *',
        missed: 'skip',
        input: ['https://example.test/hook', 'and spaces'],
        // The function's other flow options, its key read from the fixed input.
        flow: { concurrency: { limit: 1, key: 'https://example.test/hook' } },
      },
    ])
    // Without a @schedule left, the schedules file goes (as an orphaned generated file).
    writeFileSync(join(cwd, 'src/functions/flow.ts'), `${IMPORTS[0]}\nexport async function none(): Promise<void> {}\n`)
    const again = await generate({ cwd })
    expect(again.orphaned).toEqual(['src/dispatch.gen/schedules.gen.json'])
    expect(existsSync(file)).toBe(false)
  })

  it('reports a malformed expression, zone, policy or input, and a function it cannot call, at the tag', async () => {
    const cwd = project([
      ...IMPORTS,
      '/** @schedule 0 3 * * * */',
      'export async function a(): Promise<void> {}',
      '/** @schedule "61 * * * *" */',
      'export async function b(): Promise<void> {}',
      '/** @schedule "0 3 * * *" tz=Mars/Olympus */',
      'export async function c(): Promise<void> {}',
      '/** @schedule "0 3 * * *" missed=sometimes */',
      'export async function d(): Promise<void> {}',
      '/** @schedule "0 3 * * *" input={"a":1} */',
      'export async function e(): Promise<void> {}',
      '/** @schedule "0 0 30 2 *" */',
      'export async function f(): Promise<void> {}',
      '/** @schedule "0 3 * * *" */',
      'export async function g(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.ok).toBe(false)
    const lines = result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`)
    expect(lines).toEqual([
      '3:5 DSP1030 @schedule needs its cron expression in double quotes (on `a`)',
      expect.stringMatching(/^5:5 DSP1030 @schedule "61 \* \* \* \*" is not a cron expression: .*minute.* \(on `b`\)$/),
      '7:5 DSP1030 @schedule tz=Mars/Olympus is not an IANA time zone (Europe/Paris, America/New_York, UTC) (on `c`)',
      '9:5 DSP1030 @schedule missed=sometimes is not skip, catchup or catchup:N (N from 1 to 1000) (on `d`)',
      '11:5 DSP1030 @schedule input= is not a JSON array of the arguments (`input=[{"days": 30}]`) (on `e`)',
      '13:5 DSP1030 @schedule "0 0 30 2 *" never fires (no such date) (on `f`)',
      '15:5 DSP1032 @schedule runs the function without arguments, and it has 1 required parameter: give them with input=[...] (on `g`)',
    ])
    for (const d of result.diagnostics) expect(d.hint).toMatch(/docs\/flow-control\.md/)
  })
})
