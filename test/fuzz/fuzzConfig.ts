import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * How hard the fuzz suites try. CI (`npm test`) runs a fixed seed and a modest number of runs;
 * `npm run fuzz` sets FUZZ_RUNS (and may set FUZZ_SEED) for a larger run.
 */
export const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20261128)

/** The number of runs for a property: `base` in CI, scaled by FUZZ_RUNS / 100 in a larger run. */
export function runs(base: number): number {
  const wanted = Number(process.env['FUZZ_RUNS'] ?? 0)
  return wanted > 0 ? Math.max(base, Math.round((base * wanted) / 100)) : base
}

/** fast-check parameters: fixed seed, no shrinking time wasted on long runs. */
export function params(base: number): { seed: number; numRuns: number; endOnFailure: boolean } {
  return { seed: FUZZ_SEED, numRuns: runs(base), endOnFailure: true }
}

const resultsDir = fileURLToPath(new URL('../../node_modules/.cache/dispatch-reliability/', import.meta.url))

/** Figures a suite reports, as one row of the reliability table. */
export interface Figures {
  readonly suite: string
  readonly [figure: string]: string | number
}

/** Keeps a suite's figures where `test/faults/report.ts` prints them from (one JSON file per suite). */
export function recordFigures(figures: Figures): void {
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, `${figures.suite.replace(/[^a-z0-9-]+/gi, '_')}.json`), JSON.stringify(figures))
}

/** Every recorded row, newest runs overwrite older ones of the same suite. */
export function readFigures(): Figures[] {
  let names: string[]
  try {
    names = readdirSync(resultsDir)
  } catch {
    return []
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) as Figures)
}
