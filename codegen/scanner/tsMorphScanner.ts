import { existsSync } from 'node:fs'
import { Project } from 'ts-morph'
import { compareDiagnostics } from '../formatDiagnostic.js'
import type { Diagnostic, FunctionModel, ScanInput, Scanner, ScanResult } from '../model.js'
import { type FileIndex, indexFile } from './fileIndex.js'
import type { ResolveContext } from './resolveSchema.js'
import { type FileScan, scanFile } from './scanFile.js'

/** One function file's scan and the files it read (itself and the schema files it follows). */
interface CachedScan extends FileScan {
  readonly dependencies: ReadonlySet<string>
}

/**
 * The ts-morph scanner. It reads syntax only — no type checker, no `getType()` — and keeps the
 * Project between scans: a later scan refreshes only the changed SourceFiles and re-scans only the
 * function files that read one of them.
 */
export class TsMorphScanner implements Scanner {
  readonly #project = new Project({
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: false },
  })
  readonly #indexes = new Map<string, FileIndex>()
  readonly #scans = new Map<string, CachedScan>()

  #index(path: string): FileIndex | undefined {
    const cached = this.#indexes.get(path)
    if (cached) return cached
    const sourceFile = this.#project.getSourceFile(path) ?? this.#project.addSourceFileAtPathIfExists(path)
    if (!sourceFile) return undefined
    const index = indexFile(path, sourceFile)
    this.#indexes.set(path, index)
    return index
  }

  #refresh(changed: ReadonlySet<string>): void {
    for (const path of changed) {
      this.#indexes.delete(path)
      const sourceFile = this.#project.getSourceFile(path)
      if (!sourceFile) continue
      if (existsSync(path)) sourceFile.refreshFromFileSystemSync()
      else this.#project.removeSourceFile(sourceFile)
    }
    for (const [path, scan] of this.#scans) {
      if (changed.has(path) || [...changed].some((c) => scan.dependencies.has(c))) this.#scans.delete(path)
    }
  }

  scan(input: ScanInput): ScanResult {
    if (input.changed) this.#refresh(input.changed)
    else if (this.#scans.size > 0) this.#refresh(new Set(this.#indexes.keys()))
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
      const scan = index ? scanFile(context, index) : { functions: [], diagnostics: [] }
      this.#scans.set(path, { ...scan, dependencies })
    }
    return this.#collect()
  }

  /** Merges the per-file scans: sorted functions, and a diagnostic for each duplicate name. */
  #collect(): ScanResult {
    const functions: FunctionModel[] = []
    const diagnostics: Diagnostic[] = []
    const dependencies = new Set<string>()
    for (const scan of this.#scans.values()) {
      functions.push(...scan.functions)
      diagnostics.push(...scan.diagnostics)
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
    return { functions: unique, diagnostics, dependencies: [...dependencies].sort() }
  }
}
