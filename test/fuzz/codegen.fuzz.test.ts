import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatDiagnostic, generate } from 'dispatch-functions-tools/codegen'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DispatchError } from '../../schemas/errors/dispatchError.js'
import { cleanup, copyFixture } from '../codegen/helpers.js'
import { params, recordFigures } from './fuzzConfig.js'

// The generator under random mutations of valid declarations: every run ends in diagnostics or in
// generated files, never in an exception (a DispatchError with a code is a diagnostic too).

const FILES = [
  'src/functions/publish.ts',
  'src/functions/users.ts',
  'src/functions/orders.ts',
  'src/functions/counters.ts',
]
const figures = { inputs: 0, exceptions: 0, diagnosed: 0, generated: 0 }
let dir: string
const originals = new Map<string, string>()

beforeAll(() => {
  dir = copyFixture('supported')
  for (const file of FILES) originals.set(file, readFileSync(join(dir, file), 'utf8'))
})
afterAll(() => {
  cleanup(dir)
  recordFigures({
    suite: 'fuzz: generator',
    'bad inputs tried': figures.inputs,
    'crashes or 5xx seen': figures.exceptions,
    'runs with diagnostics': figures.diagnosed,
    'runs with output': figures.generated,
  })
})

const TOKENS = [
  'export ',
  'async ',
  'function ',
  'const ',
  '=>',
  '(',
  ')',
  '{',
  '}',
  '<',
  '>',
  ',',
  ':',
  '?',
  '...',
  '=',
  'Static<typeof ',
  'typeof ',
  'Promise<',
  'default ',
  'Type.String()',
  'any',
  'unknown',
  'never',
  '[',
  ']',
  '// ',
  '/*',
  '*/',
  '"',
  "'",
  '`',
  '\\',
  '\n',
  ' ',
  'import ',
  'from ',
  '__proto__',
  'constructor',
  '\u0000',
  '\uFEFF',
  'Ω',
  'class ',
  'declare ',
  'namespace ',
  'enum ',
  '@',
  '#',
  'yield ',
  'await ',
]

type Edit =
  | { kind: 'insert'; at: number; token: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicateLine'; line: number }
  | { kind: 'swapLines'; a: number; b: number }
  | { kind: 'replace'; at: number; length: number; text: string }

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicateLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    length: fc.integer({ min: 0, max: 10 }),
    text: fc.string({ maxLength: 8 }),
  }),
)

function apply(text: string, e: Edit): string {
  switch (e.kind) {
    case 'insert': {
      const at = e.at % (text.length + 1)
      return text.slice(0, at) + e.token + text.slice(at)
    }
    case 'delete': {
      const at = e.at % (text.length + 1)
      return text.slice(0, at) + text.slice(at + e.length)
    }
    case 'replace': {
      const at = e.at % (text.length + 1)
      return text.slice(0, at) + e.text + text.slice(at + e.length)
    }
    case 'duplicateLine': {
      const lines = text.split('\n')
      const i = e.line % lines.length
      lines.splice(i, 0, lines[i]!)
      return lines.join('\n')
    }
    case 'swapLines': {
      const lines = text.split('\n')
      const a = e.a % lines.length
      const b = e.b % lines.length
      ;[lines[a], lines[b]] = [lines[b]!, lines[a]!]
      return lines.join('\n')
    }
  }
}

describe('fuzz: the generator', () => {
  it('answers diagnostics or output for mutated declarations, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FILES),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        async (file, edits) => {
          figures.inputs++
          const mutated = edits.reduce(apply, originals.get(file)!)
          writeFileSync(join(dir, file), mutated)
          try {
            const result = await generate({ cwd: dir, check: true })
            if (result.diagnostics.length > 0) {
              figures.diagnosed++
              expect(result.files).toEqual([])
              // Every diagnostic prints as a line with a place, without a stack.
              for (const d of result.diagnostics) expect(formatDiagnostic(d)).not.toMatch(/\n\s+at /)
            } else {
              figures.generated++
              expect(result.files.map((f) => f.path).sort()).toEqual([
                'src/dispatch.gen/client.gen.ts',
                'src/dispatch.gen/routes.gen.ts',
              ])
            }
          } catch (error) {
            if (!(error instanceof DispatchError)) {
              figures.exceptions++
              throw error
            }
          } finally {
            writeFileSync(join(dir, file), originals.get(file)!)
          }
        },
      ),
      params(150),
    )
    expect(figures.exceptions).toBe(0)
  })
})
