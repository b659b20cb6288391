import { readFileSync } from 'node:fs'
import { compareDiagnostics, comparePlaces } from '../model/formatDiagnostic.js'
import type { Diagnostic, FunctionModel, ScanInput, Scanner, ScanResult, SkippedFunction } from '../model/model.js'
import { type FileIndex, indexFile } from './fileIndex.js'
import type { ResolveContext } from './resolveSchema.js'
import { type FileScan, scanFile } from './scanFile.js'
import { ts } from './tsMorph.js'

/** One function file's scan and the files it read (itself and the schema files it follows). */
interface CachedScan extends FileScan {
  readonly dependencies: ReadonlySet<string>
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * The scanner behind `dispatch gen`: TypeScript's parser (as bundled by ts-morph), syntax only —
 * no Program, no type checker, no `getType()`. Parsed files stay in memory between scans: a later
 * scan re-parses only the changed files and re-scans only the function files that read one of them.
 */
export class SyntaxScanner implements Scanner {
  readonly #indexes = new Map<string, FileIndex | undefined>()
  readonly #scans = new Map<string, CachedScan>()
  #parsed = 0

  #index(path: string): FileIndex | undefined {
    if (this.#indexes.has(path)) return this.#indexes.get(path)
    const text = readOrUndefined(path)
    if (text !== undefined) this.#parsed++
    // JSDoc is read from the raw comment text (scanFile's description), so the parser may skip it.
    const options = { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone }
    const index =
      text === undefined
        ? undefined
        : indexFile(
            path,
            ts.createSourceFile(
              path,
              text,
              options,
              false,
              path.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
            ),
          )
    this.#indexes.set(path, index)
    return index
  }

  /** Forgets changed files whose text differs, and every scan that read one of them. */
  #refresh(changed: ReadonlySet<string>): void {
    const stale = new Set<string>()
    for (const path of changed) {
      if (!this.#indexes.has(path)) {
        stale.add(path)
        continue
      }
      const text = readOrUndefined(path)
      if (text === this.#indexes.get(path)?.sourceFile.text) continue
      this.#indexes.delete(path)
      stale.add(path)
    }
    if (stale.size === 0) return
    for (const [path, scan] of this.#scans) {
      for (const file of stale) {
        if (scan.dependencies.has(file)) {
          this.#scans.delete(path)
          break
        }
      }
    }
  }

  scan(input: ScanInput): ScanResult {
    this.#parsed = 0
    this.#refresh(input.changed ?? new Set(this.#indexes.keys()))
    const wanted = new Set(input.files)
    for (const path of this.#scans.keys()) if (!wanted.has(path)) this.#scans.delete(path)

    for (const path of input.files) {
      if (this.#scans.has(path)) continue
      const dependencies = new Set<string>([path])
      const context: ResolveContext = {
        root: input.root,
        index: (file) => {
          dependencies.add(file)
          return this.#index(file)
        },
      }
      const index = this.#index(path)
      const scan = index ? scanFile(context, index) : { functions: [], diagnostics: [], skipped: [] }
      this.#scans.set(path, { ...scan, dependencies })
    }
    return this.#collect()
  }

  /** Merges the per-file scans: sorted functions, and a diagnostic for each duplicate name. */
  #collect(): ScanResult {
    const functions: FunctionModel[] = []
    const diagnostics: Diagnostic[] = []
    const skipped: SkippedFunction[] = []
    const dependencies = new Set<string>()
    for (const scan of this.#scans.values()) {
      functions.push(...scan.functions)
      diagnostics.push(...scan.diagnostics)
      skipped.push(...scan.skipped)
      for (const dependency of scan.dependencies) dependencies.add(dependency)
    }
    functions.sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line,
    )
    const unique: FunctionModel[] = []
    for (const fn of functions) {
      const first = unique.at(-1)
      if (first?.name !== fn.name) {
        unique.push(fn)
        continue
      }
      diagnostics.push({
        code: 'DSP1009',
        file: fn.file,
        line: fn.line,
        column: fn.column,
        message: `function \`${fn.name}\` is declared twice: here and at ${first.file}:${first.line}:${first.column}`,
        hint: 'function names are registered globally: rename one of them',
      })
    }
    diagnostics.sort(compareDiagnostics)
    skipped.sort(comparePlaces)
    return {
      functions: unique,
      diagnostics,
      skipped,
      dependencies: [...dependencies].sort(),
      parsed: this.#parsed,
    }
  }
}
