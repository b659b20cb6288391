/**
 * The deepest JSON nesting the scheduler stores (the fuzz and fault suites): deeper values
 * overflow JSON.stringify's stack when the store encodes them, which failed whole transactions.
 */
export const MAX_JSON_DEPTH = 1000

/** Whether arrays/objects in `value` nest deeper than `max`; iterative, so it cannot overflow itself. */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth > max) return true
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}
