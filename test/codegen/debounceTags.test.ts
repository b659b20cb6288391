import { generate } from 'dispatch-functions-tools/codegen'
import { describe, expect, it } from 'vitest'
import { flowTagProjects } from './helpers.js'

const project = flowTagProjects()

const IMPORTS = ["import type { Static } from 'typebox'", "import type { Payload, Url } from '../schemas/common.js'"]

describe('generate: @debounce (docs/flow-control.md)', () => {
  it('reads the window, key, keep and max into the model, the route table and the client', async () => {
    const cwd = project([
      ...IMPORTS,
      '/** @debounce 5s key=accountId keep=first max=1m */',
      'export async function perAccount(payload: Static<typeof Payload>): Promise<void> {}',
      '/**',
      ' * @debounce 250ms',
      ' * @priority 3',
      ' */',
      'export async function quick(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.diagnostics).toEqual([])
    const flow = Object.fromEntries(result.functions.map((f) => [f.name, f.flow]))
    expect(flow['perAccount']).toEqual({
      debounce: { windowMs: 5_000, key: { arg: 0, path: ['accountId'] }, keep: 'first', maxMs: 60_000 },
    })
    expect(flow['quick']).toEqual({ priority: 3, debounce: { windowMs: 250 } })
    const [client, routes] = result.files.map((file) => file.content)
    expect(client).toContain('quick: { arity: 1, flow: { priority: 3, debounce: { windowMs: 250 } } }')
    expect(routes).toContain(
      "flow: { debounce: { windowMs: 5000, key: { arg: 0, path: ['accountId'] }, keep: 'first', maxMs: 60000 } },",
    )
  })

  it('reports malformed @debounce values at the tag (DSP1030)', async () => {
    const cwd = project([
      ...IMPORTS,
      '/** @debounce */',
      'export async function a(url: Static<typeof Url>): Promise<void> {}',
      '/** @debounce 5 */',
      'export async function b(url: Static<typeof Url>): Promise<void> {}',
      '/** @debounce 2d */',
      'export async function c(url: Static<typeof Url>): Promise<void> {}',
      '/** @debounce 5s keep=middle */',
      'export async function d(url: Static<typeof Url>): Promise<void> {}',
      '/** @debounce 1m max=30s */',
      'export async function e(url: Static<typeof Url>): Promise<void> {}',
      '/** @debounce 5s wait=1m */',
      'export async function f(url: Static<typeof Url>): Promise<void> {}',
      '/** @debounce 5s key=a-b */',
      'export async function g(url: Static<typeof Url>): Promise<void> {}',
    ])
    const result = await generate({ cwd })
    expect(result.ok).toBe(false)
    expect(result.files).toEqual([])
    expect(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([
      'src/functions/flow.ts:3:5 DSP1030 @debounce needs a window (`5s`) (on `a`)',
      'src/functions/flow.ts:5:5 DSP1030 @debounce the window "5" is not a duration (`500ms`, `5s`, `1m`, `1h`) (on `b`)',
      'src/functions/flow.ts:7:5 DSP1030 @debounce the window "2d" is not from 1ms to 1d (on `c`)',
      'src/functions/flow.ts:9:5 DSP1030 @debounce keep=middle is neither keep=last nor keep=first (on `d`)',
      'src/functions/flow.ts:11:5 DSP1030 @debounce max=30s is shorter than the window 1m (on `e`)',
      'src/functions/flow.ts:13:5 DSP1030 @debounce has "wait=1m" where key=... or keep=... or max=... is expected (on `f`)',
      'src/functions/flow.ts:15:5 DSP1030 @debounce key=a-b is not a dotted path of names (`key=customerId`, `key=order.customerId`) (on `g`)',
    ])
    for (const d of result.diagnostics) expect(d.hint).toMatch(/docs\/flow-control\.md/)
  })
})
