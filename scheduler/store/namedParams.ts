/** A statement and its positional parameters, as `pg` takes them. */
export interface Statement {
  readonly text: string
  readonly values: unknown[]
  /**
   * Set for a statement run often with the same text: each connection then prepares it once and
   * keeps its plan (see `PostgresPool.run`). One name, one text, on every connection of a store.
   */
  readonly name?: string
}

/**
 * Positional parameters by name, for statements with more than a handful of them: `$.ids` is the
 * placeholder (`$1`, `$2`, ...) of `values.ids`, numbered in the order of the record's keys, so the
 * SQL names what it binds instead of counting to `$27`.
 */
export function namedParams<K extends string>(
  values: Readonly<Record<K, unknown>>,
): { readonly $: Readonly<Record<K, string>>; readonly values: unknown[] } {
  const names = Object.keys(values) as K[]
  const $ = Object.fromEntries(names.map((name, i) => [name, `$${i + 1}`])) as Record<K, string>
  return { $, values: names.map((name) => values[name]) }
}
