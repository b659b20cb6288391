import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DispatchError } from 'dispatch-functions'
import { DEFAULT_CONFIG, generate, loadConfig } from 'dispatch-functions-tools/codegen'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) cleanup(dir)
})
const project = (files: Record<string, string>) => {
  const dir = tempDir()
  dirs.push(dir)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}
const errorOf = (fn: () => unknown): DispatchError => {
  try {
    fn()
  } catch (error) {
    if (error instanceof DispatchError) return error
    throw error
  }
  throw new Error('expected a DispatchError')
}

describe('config', () => {
  it('defaults when there is no config, and fills in missing fields', () => {
    expect(loadConfig(project({})).config).toEqual(DEFAULT_CONFIG)
    expect(loadConfig(project({ 'dispatch.config.json': '{ "out": "gen" }' })).config).toEqual({
      functions: ['src/**/*.ts'],
      out: 'gen',
    })
  })

  it('reads the "dispatch" key of package.json; dispatch.config.json wins', () => {
    const pkg = JSON.stringify({ name: 'x', dispatch: { functions: ['lib/*.ts'] } })
    expect(loadConfig(project({ 'package.json': pkg }))).toEqual({
      config: { functions: ['lib/*.ts'], out: 'src/dispatch.gen' },
      source: 'package.json',
    })
    expect(loadConfig(project({ 'package.json': pkg, 'dispatch.config.json': '{}' })).source).toBe(
      'dispatch.config.json',
    )
  })

  it('names the invalid field', () => {
    const cases: [string, string][] = [
      ['{ "functions": "src/*.ts" }', '"functions" must be a non-empty array of globs'],
      ['{ "functions": ["src/*.ts", 3] }', '"functions[1]" must be a non-empty string'],
      ['{ "out": "" }', '"out" must be a non-empty string'],
      ['{ "out": "/abs" }', '"out" must be relative to the package root'],
      ['{ "output": "x" }', '"output" is not a known field'],
      ['[]', '"(root)" must be an object'],
    ]
    for (const [json, message] of cases) {
      const error = errorOf(() => loadConfig(project({ 'dispatch.config.json': json })))
      expect(error.code).toBe('DSP1001')
      expect(error.message).toContain(message)
      expect(error.hint).toContain('"functions"')
    }
    const inPackage = errorOf(() => loadConfig(project({ 'package.json': '{ "dispatch": { "out": 1 } }' })))
    expect(inPackage.message).toBe('package.json "dispatch": "out" must be a non-empty string')
  })

  it('reports JSON syntax errors as DSP1002', () => {
    const error = errorOf(() => loadConfig(project({ 'dispatch.config.json': '{ functions: [] }' })))
    expect(error.code).toBe('DSP1002')
    expect(error.message).toContain('dispatch.config.json is not valid JSON')
  })

  it('uses the configured globs and output folder', async () => {
    const cwd = project({
      'dispatch.config.json': '{ "functions": ["lib/**/*.ts"], "out": "generated" }',
      'lib/hello.ts': [
        "import { type Static, Type } from 'typebox'",
        'export const Name = Type.String()',
        'export async function hello(name: Static<typeof Name>): Promise<Static<typeof Name>> {',
        '  return name',
        '}',
        '',
      ].join('\n'),
      'src/ignored.ts':
        "import { type Static, Type } from 'typebox'\nexport const X = Type.String()\nexport function nope(x: Static<typeof X>) {}\n",
    })
    const result = await generate({ cwd })
    expect(result.diagnostics).toEqual([])
    expect(result.functions.map((fn) => fn.name)).toEqual(['hello'])
    expect(result.files.map((f) => [f.path, f.state])).toEqual([
      ['generated/client.gen.ts', 'written'],
      ['generated/routes.gen.ts', 'written'],
    ])
    expect(result.files[1]?.content).toContain("import { Name, hello } from '../lib/hello.js'")
  })
})
