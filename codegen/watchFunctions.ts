import { type FSWatcher, watch } from 'node:fs'
import { dirname, resolve, sep } from 'node:path'
import { createGenerator, type GenerateResult, type GeneratorOptions } from './generate.js'

export interface WatchOptions extends GeneratorOptions {
  /** Called after the first generation and after every regeneration. */
  readonly onResult?: (result: GenerateResult) => void
  /** Called when a regeneration throws (the watcher keeps going). */
  readonly onError?: (error: unknown) => void
  /** How long to gather events before regenerating; editors write a file in several steps. Default 5 ms. */
  readonly debounceMs?: number
}

/** A running watcher. */
export interface Watcher {
  /** The first generation, done before `watchFunctions` resolves. */
  readonly initial: GenerateResult
  close(): void
}

const SOURCE = /\.(m|c)?tsx?$/

/** The folder a glob starts in: `src/**\/*.ts` → `src`. */
function globBase(pattern: string): string {
  const segments: string[] = []
  for (const segment of pattern.split('/')) {
    if (/[*?[\]{}()!]/.test(segment)) break
    segments.push(segment)
  }
  // A glob without wildcards names a file: watch its folder.
  if (segments.length === pattern.split('/').length) segments.pop()
  return segments.join('/')
}

/**
 * Generates, then regenerates whenever a function file or a schema file it imports changes.
 * The parsed files stay in memory: an edit re-parses that file and re-scans only the function
 * files that read it. Config changes need a restart.
 *
 * @example
 * ```ts
 * const watcher = await watchFunctions({ cwd: '.', onResult: (r) => console.log(r.functions.length) })
 * // ... later
 * watcher.close()
 * ```
 */
export async function watchFunctions(options: WatchOptions): Promise<Watcher> {
  const generator = createGenerator(options)
  const { cwd, config } = generator
  const outDir = resolve(cwd, config.out) + sep
  const debounceMs = options.debounceMs ?? 5
  const watchers = new Map<string, FSWatcher>()
  const recursiveBases = [...new Set(config.functions.map(globBase))].map((base) => resolve(cwd, base))

  let pending = new Set<string>()
  let reglob = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let closed = false

  const onEvent = (dir: string) => (event: string, filename: string | Buffer | null) => {
    if (filename === null) {
      reglob = true
    } else {
      const path = resolve(dir, filename.toString())
      if (path.startsWith(outDir) || !SOURCE.test(path)) return
      pending.add(path)
      if (event === 'rename') reglob = true
    }
    schedule()
  }

  const watchDir = (dir: string, recursive: boolean) => {
    if (watchers.has(dir) || closed) return
    try {
      watchers.set(dir, watch(dir, { recursive }, onEvent(dir)))
    } catch {
      // A glob base that does not exist yet: nothing to watch there.
    }
  }

  /** Schema files outside the globbed folders are watched through their own folder. */
  const watchDependencies = (result: GenerateResult) => {
    for (const file of result.dependencies) {
      if (recursiveBases.some((base) => file.startsWith(base + sep))) continue
      watchDir(dirname(file), false)
    }
  }

  const schedule = () => {
    if (closed) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (running) {
        void running.then(schedule)
        return
      }
      const changed = pending
      const again = reglob
      pending = new Set()
      reglob = false
      running = generator
        .run({ changed, reglob: again })
        .then((result) => {
          watchDependencies(result)
          options.onResult?.(result)
        })
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => {
          running = undefined
        })
    }, debounceMs)
  }

  const initial = await generator.run()
  for (const base of recursiveBases) watchDir(base, true)
  watchDependencies(initial)
  options.onResult?.(initial)

  return {
    initial,
    close() {
      closed = true
      clearTimeout(timer)
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    },
  }
}
