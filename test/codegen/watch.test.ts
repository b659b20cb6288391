import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type GenerateResult, watchFunctions } from 'dispatch-functions-tools/codegen'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, copyFixture, until } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) cleanup(dir)
})

describe('watchFunctions', () => {
  it('follows edits to function files and to the schema files they import', async () => {
    const cwd = copyFixture('supported')
    dirs.push(cwd)
    const results: GenerateResult[] = []
    const watcher = await watchFunctions({ cwd, onResult: (result) => results.push(result) })
    try {
      expect(watcher.initial.functions).toHaveLength(5)
      // Function files, the schema barrel and the files behind it, and lib/payload.ts.
      expect(watcher.initial.parsed).toBe(8)
      // lib/payload.ts is outside the globs: watched through the dependency list.
      const lib = join(cwd, 'lib/payload.ts')
      const original = readFileSync(lib, 'utf8')
      writeFileSync(lib, original.replace('export const Payload', 'export let Payload'))
      const broken = await until(() => results.find((r) => r.diagnostics.length > 0), 'a diagnostic')
      expect(broken.diagnostics.map((d) => `${d.file} ${d.code}`)).toEqual(['src/functions/counters.ts DSP1006'])
      // Only the edited file was parsed again.
      expect(broken.parsed).toBe(1)
      writeFileSync(lib, original)
      await until(() => (results.at(-1)?.ok ? true : undefined), 'recovery')

      // A schema file in another folder: its edit re-scans the function that imports it.
      const orders = join(cwd, 'src/schemas/orders.ts')
      const ordersText = readFileSync(orders, 'utf8')
      writeFileSync(orders, ordersText.replace('export const Receipt', 'const Receipt'))
      const unexported = await until(() => results.at(-1)?.diagnostics[0], 'the not-exported diagnostic')
      expect(unexported).toMatchObject({ file: 'src/functions/orders.ts', code: 'DSP1007' })

      // A function file inside the globs: removing a function regenerates without it.
      writeFileSync(orders, ordersText)
      const publish = join(cwd, 'src/functions/publish.ts')
      writeFileSync(
        publish,
        readFileSync(publish, 'utf8').replace('export async function publish', 'async function publish'),
      )
      const names = (r: GenerateResult | undefined) => r?.functions.map((fn) => fn.name).join(',')
      const last = await until(
        () => (names(results.at(-1)) === 'countUsers,getUser,increment,placeOrder' ? results.at(-1) : undefined),
        'placeOrder back and publish gone',
      )
      expect(last.diagnostics).toEqual([])
      expect(readFileSync(join(cwd, 'src/dispatch.gen/client.gen.ts'), 'utf8')).not.toContain('publish')
    } finally {
      watcher.close()
    }
  })
})
