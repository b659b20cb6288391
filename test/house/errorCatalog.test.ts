import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dspError } from '../../schemas/errors/dspError.js'
import { type DspCode, type DspPart, ERROR_CATALOG } from '../../schemas/errors/errorCatalog.js'
import { repoRoot } from '../codegen/helpers.js'
import { partsListed, renderErrorDocs } from './errorDocs.js'

// One catalog of error codes: docs/errors.md lists exactly the catalog (its tables are generated
// from it), and no source or page names a code the catalog does not have.

const CODES = Object.keys(ERROR_CATALOG) as DspCode[]
const PARTS: readonly DspPart[] = ['generator', 'client', 'endpoint', 'scheduler', 'postgres', 'cli', 'testing']
// The thousands digit groups the codes by part, as docs/errors.md's introduction says.
const DIGIT: Record<DspPart, string> = {
  generator: '1',
  client: '2',
  endpoint: '2',
  scheduler: '3',
  postgres: '3',
  cli: '4',
  testing: '5',
}
const docsPath = join(repoRoot, 'docs', 'errors.md')

/** Files under `dir` (relative to the repository root) whose names end with one of `endings`. */
function files(dir: string, endings: readonly string[]): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return []
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return files(path, endings)
    return endings.some((ending) => entry.name.endsWith(ending)) ? [path] : []
  })
}

describe('the error catalog', () => {
  it('has well-formed entries: a DSPnnnn code in its part, a one-line summary and hint', () => {
    for (const code of CODES) {
      const entry = ERROR_CATALOG[code]
      expect(code).toMatch(/^DSP\d{4}$/)
      expect(PARTS).toContain(entry.part)
      expect(code[3], `${code} is not numbered in its part (${entry.part})`).toBe(DIGIT[entry.part])
      for (const text of [entry.summary, entry.hint]) {
        // A table cell: one line, no column separator.
        expect(text.trim(), code).not.toBe('')
        expect(text, code).not.toMatch(/[\n|]/)
      }
    }
  })

  it('is what docs/errors.md lists: its tables are the ones generated from the catalog', () => {
    const text = readFileSync(docsPath, 'utf8')
    expect([...partsListed(text)].sort(), 'one generated table per part').toEqual([...PARTS].sort())
    const listed = [...text.matchAll(/^\| (DSP\d{4}) \|/gm)].map((m) => m[1])
    expect(listed.sort(), 'docs/errors.md lists exactly the catalogued codes').toEqual([...CODES].sort())
    // Run `npm run docs:errors` when this fails after a change to the catalog.
    expect(text, 'docs/errors.md is out of date: run npm run docs:errors').toBe(renderErrorDocs(text))
  })

  it('has every code that a source file, an example or a page names', () => {
    const scanned = [
      ...['schemas', 'runtime', 'codegen', 'scheduler', 'cli', 'examples', 'bench'].flatMap((dir) =>
        files(dir, ['.ts', '.md']),
      ),
      ...files('docs', ['.md']),
      'README.md',
    ]
    expect(scanned.length).toBeGreaterThan(100)
    const unknown: string[] = []
    for (const file of scanned) {
      const text = readFileSync(join(repoRoot, file), 'utf8')
      for (const m of text.matchAll(/\bDSP\d{4}\b/g)) {
        if (!(m[0] in ERROR_CATALOG)) unknown.push(`${file}: ${m[0]}`)
      }
    }
    expect(unknown, 'codes not in schemas/errors/errorCatalog.ts').toEqual([])
  })
})

describe('dspError', () => {
  it('fills the hint and the HTTP status from the catalog', () => {
    const error = dspError('DSP3010', 'call 0: delay is out of range')
    expect(error).toMatchObject({ code: 'DSP3010', hint: ERROR_CATALOG.DSP3010.hint, httpStatus: 400 })
    expect(error.format()).toBe(`DSP3010: call 0: delay is out of range\n  hint: ${ERROR_CATALOG.DSP3010.hint}`)
  })

  it("keeps a raise site's own hint and status, and answers 500 where the catalog has no status", () => {
    const cause = new Error('disk full')
    const error = dspError('DSP3001', 'cannot open the database', { hint: 'check the path', httpStatus: 503, cause })
    expect(error).toMatchObject({ hint: 'check the path', httpStatus: 503, cause })
    expect(dspError('DSP2210', 'outside').httpStatus).toBe(500)
  })

  it('does not compile with a code the catalog does not have', () => {
    // @ts-expect-error DSP9999 is not catalogued: typecheck fails if it ever compiles
    const make = () => dspError('DSP9999', 'an uncatalogued code')
    expect(make).toBeTypeOf('function')
  })

  it('starts the stack where the error is raised', () => {
    expect(dspError('DSP2210', 'outside').stack?.split('\n')[1]).not.toMatch(/dspError/)
  })
})
