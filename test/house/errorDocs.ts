import { type DspCode, type DspPart, ERROR_CATALOG } from '../../schemas/errors/errorCatalog.js'

// docs/errors.md keeps its prose by hand and its tables of codes generated from the catalog, one
// table per part between markers, so that the page lists exactly the catalog
// (test/house/errorCatalog.test.ts checks it; `npm run docs:errors` writes it).

const START = /^<!-- errors:([a-z]+) generated from schemas\/errors\/errorCatalog\.ts: npm run docs:errors -->$/
const end = (part: string) => `<!-- /errors:${part} -->`

/** The start marker of the generated table of `part`'s codes. */
export function startMarker(part: DspPart): string {
  return `<!-- errors:${part} generated from schemas/errors/errorCatalog.ts: npm run docs:errors -->`
}

/** The codes of `part`, in order. */
export function codesOf(part: DspPart): DspCode[] {
  return (Object.keys(ERROR_CATALOG) as DspCode[]).filter((code) => ERROR_CATALOG[code].part === part).sort()
}

/** A Markdown table with its columns padded to their widest cell. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(3, ...rows.map((row) => row[column]!.length)))
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  const [header, ...body] = rows
  return [line(header!), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)]
}

/** The generated table of `part`'s codes: code, when, what to do. */
export function partTable(part: DspPart): string[] {
  const rows = codesOf(part).map((code) => [code, ERROR_CATALOG[code].summary, ERROR_CATALOG[code].hint])
  return table([['code', 'when', 'what to do'], ...rows])
}

/**
 * `text` (docs/errors.md) with every generated table written again from the catalog; throws when
 * a start marker has no end marker or names no part.
 */
export function renderErrorDocs(text: string): string {
  const lines = text.split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    out.push(line)
    const part = START.exec(line)?.[1] as DspPart | undefined
    if (part === undefined) continue
    if (codesOf(part).length === 0) throw new Error(`docs/errors.md, line ${i + 1}: no code has the part ${part}`)
    const close = lines.indexOf(end(part), i + 1)
    if (close < 0) throw new Error(`docs/errors.md, line ${i + 1}: no ${end(part)} after it`)
    out.push(...partTable(part), end(part))
    i = close
  }
  return out.join('\n')
}

/** The parts whose tables `text` has markers for, in the order they appear. */
export function partsListed(text: string): string[] {
  return text.split('\n').flatMap((line) => START.exec(line)?.[1] ?? [])
}
