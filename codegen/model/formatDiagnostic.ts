import type { Diagnostic, SkippedFunction } from './model.js'

/** `src/notify.ts:12:8 - error DSP1003: what is wrong` and the hint on the next line, as the CLI prints it. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, line, column, code, message, hint } = diagnostic
  return `${file}:${line}:${column} - error ${code}: ${message}\n  hint: ${hint}`
}

/** A place in a file, as diagnostics and passed-over functions carry it. */
interface Place {
  readonly file: string
  readonly line: number
  readonly column: number
}

/** Orders places by file, line and column. */
export function comparePlaces(a: Place, b: Place): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column
}

/** Orders diagnostics by place, so output is the same whatever order files were read in. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return comparePlaces(a, b) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
}

/** `  src/util.ts:3:17 plain: no parameter is typed ...`, as `dispatch gen --verbose` lists passed-over functions. */
export function formatSkipped(skipped: SkippedFunction): string {
  return `  ${skipped.file}:${skipped.line}:${skipped.column} ${skipped.name}: ${skipped.reason}`
}
