/**
 * The deepest JSON nesting the scheduler stores (the fuzz and fault suites): deeper values
 * overflow JSON.stringify's stack when the store encodes them, which failed whole transactions.
 */
export const MAX_JSON_DEPTH = 1000

/** Whether arrays/objects in `value` nest deeper than `max`; iterative, so it cannot overflow itself. */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false
  // Two stacks of plain values rather than one of pairs: nothing allocated per node.
  const values: object[] = [value]
  const depths: number[] = [0]
  while (values.length > 0) {
    const v = values.pop()!
    const depth = depths.pop()!
    if (depth > max) return true
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i]
        if (child !== null && typeof child === 'object') {
          values.push(child)
          depths.push(depth + 1)
        }
      }
    } else {
      for (const child of Object.values(v)) {
        if (child !== null && typeof child === 'object') {
          values.push(child)
          depths.push(depth + 1)
        }
      }
    }
  }
  return false
}
