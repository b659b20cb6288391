import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const SCHEMA_FILES = 50

/** The source of function file `i`: one dispatch function, an ordinary helper, a few imports. */
export function functionSource(i: number, edit = 0): string {
  const a = `S${i % 20}`
  const b = `S${(i + 1) % 20}`
  return [
    "import type { Static } from 'typebox'",
    `import type { ${a}, ${b} } from '../schemas/s${i % SCHEMA_FILES}.js'`,
    `import type { ${a}Alias } from '../schemas/s${(i + 7) % SCHEMA_FILES}.js'`,
    '',
    `/** Function ${i}${edit ? `, edit ${edit}` : ''}. */`,
    `export async function fn${i}(a: Static<typeof ${a}>, b: ${a}Alias, c?: Static<typeof ${b}>): Promise<Static<typeof ${a}>> {`,
    `  const total = a.n + b.n + (c?.n ?? 0) + ${i}`,
    '  return { ...a, n: total }',
    '}',
    '',
    `export function helper${i}(x: number): number {`,
    '  return x * 2',
    '}',
    '',
  ].join('\n')
}

function schemaSource(k: number): string {
  const lines = ["import { type Static, Type } from 'typebox'", '']
  for (let s = 0; s < 20; s++) {
    lines.push(
      `export const S${s} = Type.Object({ id: Type.String(), n: Type.Number(), tag${k}: Type.Optional(Type.String()) })`,
      `export type S${s}Alias = Static<typeof S${s}>`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** Writes a package of `functions` function files (one function each) and 50 schema files. */
export function synthesize(dir: string, functions: number): void {
  mkdirSync(join(dir, 'src/functions'), { recursive: true })
  mkdirSync(join(dir, 'src/schemas'), { recursive: true })
  writeFileSync(join(dir, 'dispatch.config.json'), '{ "functions": ["src/functions/**/*.ts"] }\n')
  for (let k = 0; k < SCHEMA_FILES; k++) writeFileSync(join(dir, `src/schemas/s${k}.ts`), schemaSource(k))
  for (let i = 0; i < functions; i++) writeFileSync(join(dir, `src/functions/f${i}.ts`), functionSource(i))
}
