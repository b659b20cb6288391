import { generate } from 'dispatch-functions-tools/codegen'
import { describe, expect, it } from 'vitest'
import { flowTagProjects } from './helpers.js'

const project = flowTagProjects()

const IMPORTS = ["import type { Static } from 'typebox'", "import type { Url } from '../schemas/common.js'"]

describe('generate: flow-control tags (docs/flow-control.md)', () => {
  it('reads @priority into the model, the route table and the client', async () => {
    const cwd = project([
      ...IMPORTS,
      '/**',
      ' * Urgent work.',
      ' * @priority 7',
      ' */',
      'export async function urgent(url: Static<typeof Url>): Promise<void> {}',
      'export async function plain(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.diagnostics).toEqual([])
    const urgent = result.functions.find((f) => f.name === 'urgent')!
    expect(urgent.flow).toEqual({ priority: 7 })
    expect(urgent.description).toBe('Urgent work.')
    expect(result.functions.find((f) => f.name === 'plain')!.flow).toBeUndefined()
    const [client, routes] = result.files.map((file) => file.content)
    expect(routes).toMatch(/urgent: \{[^}]*flow: \{ priority: 7 \},/)
    expect(routes).not.toMatch(/plain: \{[^}]*flow:/)
    // The client carries the declaration of the functions that have one, the arity alone otherwise.
    expect(client).toContain('urgent: { arity: 1, flow: { priority: 7 } }')
    expect(client).toContain('plain: 1')
  })

  it('reads @concurrency with its key path: a parameter and its fields, or fields of the first parameter', async () => {
    const cwd = project([
      ...IMPORTS,
      "import type { Payload } from '../schemas/common.js'",
      '/** @concurrency 1 key=accountId */',
      'export async function perAccount(payload: Static<typeof Payload>): Promise<void> {}',
      '/**',
      ' * @concurrency 3 key=payload.message',
      ' * @priority 2',
      ' */',
      'export async function perMessage(url: Static<typeof Url>, payload: Static<typeof Payload>): Promise<void> {}',
      '/** @concurrency 5 */',
      'export async function fiveAtOnce(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.diagnostics).toEqual([])
    const flow = Object.fromEntries(result.functions.map((f) => [f.name, f.flow]))
    expect(flow['perAccount']).toEqual({ concurrency: { limit: 1, key: { arg: 0, path: ['accountId'] } } })
    expect(flow['perMessage']).toEqual({ priority: 2, concurrency: { limit: 3, key: { arg: 1, path: ['message'] } } })
    expect(flow['fiveAtOnce']).toEqual({ concurrency: { limit: 5 } })
    const [client, routes] = result.files.map((file) => file.content)
    expect(client).toContain(
      "perMessage: { arity: 2, flow: { priority: 2, concurrency: { limit: 3, key: { arg: 1, path: ['message'] } } } }",
    )
    expect(routes).toContain("flow: { concurrency: { limit: 1, key: { arg: 0, path: ['accountId'] } } },")
  })

  it('reports malformed @concurrency values at the tag', async () => {
    const cwd = project([
      ...IMPORTS,
      '/** @concurrency 0 */',
      'export async function a(url: Static<typeof Url>): Promise<void> {}',
      '/** @concurrency 2 keys=x */',
      'export async function b(url: Static<typeof Url>): Promise<void> {}',
      '/** @concurrency 2 key=a..b */',
      'export async function c(url: Static<typeof Url>): Promise<void> {}',
      '/** @concurrency */',
      'export async function d(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.ok).toBe(false)
    expect(result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([
      '3:5 DSP1030 @concurrency "0" is not an integer from 1 to 10000 (on `a`)',
      '5:5 DSP1030 @concurrency has "keys=x" where key=... is expected (on `b`)',
      '7:5 DSP1030 @concurrency key=a..b is not a dotted path of names (`key=customerId`, `key=order.customerId`) (on `c`)',
      '9:5 DSP1030 @concurrency needs a limit (on `d`)',
    ])
  })

  it('reads @rateLimit N/period with its key into the model, the route table and the client', async () => {
    const cwd = project([
      ...IMPORTS,
      "import type { Payload } from '../schemas/common.js'",
      '/** @rateLimit 10/1m key=accountId */',
      'export async function perAccount(payload: Static<typeof Payload>): Promise<void> {}',
      '/**',
      ' * @rateLimit 100/s',
      ' * @concurrency 2',
      ' */',
      'export async function hundredPerSecond(url: Static<typeof Url>): Promise<void> {}',
      '/** @rateLimit 5000/1d */',
      'export async function daily(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.diagnostics).toEqual([])
    const flow = Object.fromEntries(result.functions.map((f) => [f.name, f.flow]))
    expect(flow['perAccount']).toEqual({
      rateLimit: { limit: 10, periodMs: 60_000, key: { arg: 0, path: ['accountId'] } },
    })
    expect(flow['hundredPerSecond']).toEqual({ concurrency: { limit: 2 }, rateLimit: { limit: 100, periodMs: 1000 } })
    expect(flow['daily']).toEqual({ rateLimit: { limit: 5000, periodMs: 86_400_000 } })
    const [client, routes] = result.files.map((file) => file.content)
    expect(client).toContain(
      'hundredPerSecond: { arity: 1, flow: { concurrency: { limit: 2 }, rateLimit: { limit: 100, periodMs: 1000 } } }',
    )
    expect(routes).toContain(
      "flow: { rateLimit: { limit: 10, periodMs: 60000, key: { arg: 0, path: ['accountId'] } } },",
    )
  })

  it('reports malformed @rateLimit values at the tag', async () => {
    const cwd = project([
      ...IMPORTS,
      '/** @rateLimit 10 */',
      'export async function a(url: Static<typeof Url>): Promise<void> {}',
      '/** @rateLimit 0/1m */',
      'export async function b(url: Static<typeof Url>): Promise<void> {}',
      '/** @rateLimit 10/2d */',
      'export async function c(url: Static<typeof Url>): Promise<void> {}',
      '/** @rateLimit 10/1m keys=x */',
      'export async function d(url: Static<typeof Url>): Promise<void> {}',
      '/** @rateLimit */',
      'export async function e(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.ok).toBe(false)
    expect(result.files).toEqual([])
    expect(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([
      'src/functions/flow.ts:3:5 DSP1030 @rateLimit "10" is not a rate N/period (`10/1m`, `100/1s`, `5000/1d`) (on `a`)',
      'src/functions/flow.ts:5:5 DSP1030 @rateLimit "0/1m": N is not an integer from 1 to 1000000 (on `b`)',
      'src/functions/flow.ts:7:5 DSP1030 @rateLimit "10/2d": the period is not from 1s to 1d (on `c`)',
      'src/functions/flow.ts:9:5 DSP1030 @rateLimit has "keys=x" where key=... is expected (on `d`)',
      'src/functions/flow.ts:11:5 DSP1030 @rateLimit needs a rate (`10/1m`) (on `e`)',
    ])
  })

  it('reports malformed, repeated and unrunnable tags at the tag, with a code and a hint, and writes nothing', async () => {
    const cwd = project([
      ...IMPORTS,
      '/** @priority high */',
      'export async function a(url: Static<typeof Url>): Promise<void> {}',
      '/** @priority 101 */',
      'export async function b(url: Static<typeof Url>): Promise<void> {}',
      '/**',
      ' * @priority 1',
      ' * @priority 2',
      ' */',
      'export async function c(url: Static<typeof Url>): Promise<void> {}',
      '/** @priority */',
      'export async function d(url: Static<typeof Url>): Promise<void> {}',
      '/**',
      ' * @debounce soon',
      ' * @schedule "0 3 * * *"',
      ' */',
      'export async function e(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.ok).toBe(false)
    expect(result.files).toEqual([])
    const lines = result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`)
    expect(lines).toEqual([
      'src/functions/flow.ts:3:5 DSP1030 @priority "high" is not an integer from 0 to 100 (on `a`)',
      'src/functions/flow.ts:5:5 DSP1030 @priority "101" is not an integer from 0 to 100 (on `b`)',
      'src/functions/flow.ts:9:4 DSP1030 @priority is given twice (on `c`)',
      'src/functions/flow.ts:12:5 DSP1030 @priority needs a value (on `d`)',
      'src/functions/flow.ts:15:4 DSP1030 @debounce the window "soon" is not a duration (`500ms`, `5s`, `1m`, `1h`) (on `e`)',
      'src/functions/flow.ts:16:4 DSP1032 @schedule runs the function without arguments, and it has 1 required parameter: give them with input=[...] (on `e`)',
    ])
    for (const d of result.diagnostics) expect(d.hint).toMatch(/docs\/flow-control\.md/)
  })
})
