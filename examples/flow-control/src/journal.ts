/**
 * What the example's functions did, kept in the app's memory so that main.ts (the same process) can
 * print it: each run's start and end, and how many ran at once. A real function would do its work
 * instead; the record is what makes the scheduler's limits visible.
 */
export interface Run {
  readonly fn: string
  readonly key: string
  readonly input: unknown
  readonly startedAt: number
  endedAt?: number
}

export const runs: Run[] = []
const running = new Map<string, number>()
/** The most runs of one (function, key) seen at once. */
export const mostAtOnce = new Map<string, number>()

/** Records a run of `fn` for `key` around `work`. */
export async function recordRun<T>(fn: string, key: string, input: unknown, work: () => Promise<T>): Promise<T> {
  const run: Run = { fn, key, input, startedAt: Date.now() }
  runs.push(run)
  const id = `${fn}/${key}`
  const now = (running.get(id) ?? 0) + 1
  running.set(id, now)
  mostAtOnce.set(id, Math.max(mostAtOnce.get(id) ?? 0, now))
  try {
    return await work()
  } finally {
    running.set(id, (running.get(id) ?? 1) - 1)
    run.endedAt = Date.now()
  }
}

/** Resolves once `test` holds, checking every 20 ms; rejects after `ms`. */
export async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
