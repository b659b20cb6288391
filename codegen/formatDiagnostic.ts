import type { Diagnostic } from './model.js'

/** `src/notify.ts:12:8 - error DSP1003: what is wrong` and the hint on the next line, as the CLI prints it. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, line, column, code, message, hint } = diagnostic
  return `${file}:${line}:${column} - error ${code}: ${message}\n  hint: ${hint}`
}

/** Orders diagnostics by place, so output is the same whatever order files were read in. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file < b.file
    ? -1
    : a.file > b.file
      ? 1
      : a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : 1)
}
