/** Command-line flags and small figures shared by the end-to-end benchmarks (bench/e2e, bench/peers). */
const args = process.argv.slice(2)

/** True when `--name` was passed. */
export const flag = (name: string): boolean => args.includes(name)

/** The number after `--name`, else `fallback`. */
export function option(name: string, fallback: number): number {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}

/** The string after `--name`, else undefined. */
export function stringOption(name: string): string | undefined {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now()

export const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Prints a line unless `--json` asked for the one-line summary only. */
export const log = (line: string): void => {
  if (!flag('--json')) process.stdout.write(`${line}\n`)
}
