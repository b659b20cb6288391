import type { AnyMessage } from 'dispatch-functions/protocol'
import type { InsertResult, NewCall, NewDebounce, StoredDebounce } from './store.js'

/**
 * Debounce (docs/flow-control.md) as both stores apply it: which calls a new debounced call may
 * collapse into, and what a collapse changes. The stores only read and write the rows.
 */

/**
 * A call that later calls of its key may still collapse into: debounced, pending and never started.
 * A claim makes it running; a retry, a tail call, a redrive or a restart leave `attempts` or `epoch`
 * above 0, so a call that ran once never takes a new dispatch's input. Both stores keep a unique
 * index on (function, endpoint, debounce_key) with this condition: never two such calls per key.
 */
export function debouncing(table?: string): string {
  const c = table === undefined ? '' : `${table}.`
  return `${c}debounce_key IS NOT NULL AND ${c}state = 'pending' AND ${c}attempts = 0 AND ${c}epoch = 0`
}

/** A call some calls collapsed into, as a batch leaves it. */
export interface Collapsed {
  readonly dispatchId: string
  readonly dueAt: number
  readonly expiresAt: number | undefined
  readonly expirationMs: number | undefined
  readonly until: number | undefined
  readonly dispatches: number
  /** Set when a later call's input replaces the stored one (`keep` `last`). */
  readonly replaced: { readonly input: AnyMessage | undefined; readonly version: string | undefined } | undefined
}

/** A stored debouncing call, before this batch collapses calls into it. */
export function storedDebouncing(row: {
  id: string
  due_at: number | string
  expires_at: number | string | null
  expiration_ms: number | string | null
  debounce_until: number | string | null
  debounce_count: number | string
}): Collapsed {
  const num = (value: number | string | null) => (value === null ? undefined : Number(value))
  return {
    dispatchId: row.id,
    dueAt: Number(row.due_at),
    expiresAt: num(row.expires_at),
    expirationMs: num(row.expiration_ms),
    until: num(row.debounce_until),
    dispatches: Number(row.debounce_count),
    replaced: undefined,
  }
}

/**
 * `call` collapsed into `into`: due when `call` is (its window restarts), no later than `into`'s
 * max wait; the later of the two expirations (none wins), so pushing a call back does not make it
 * expire; with `keep` `last` the newer input and version.
 */
function collapse(into: Collapsed, call: NewCall, debounce: NewDebounce): Collapsed {
  const dueAt = into.until === undefined ? call.dueAt : Math.min(call.dueAt, into.until)
  // No expiration (on either) wins; else the later one, with the relative expiration a redrive uses.
  const expiry =
    into.expiresAt === undefined || call.expiresAt === undefined
      ? { expiresAt: undefined, expirationMs: undefined }
      : call.expiresAt >= into.expiresAt
        ? { expiresAt: call.expiresAt, expirationMs: call.expirationMs }
        : { expiresAt: into.expiresAt, expirationMs: into.expirationMs }
  return {
    dispatchId: into.dispatchId,
    dueAt,
    ...expiry,
    until: into.until,
    dispatches: into.dispatches + 1,
    replaced: debounce.keep === 'last' ? { input: call.input, version: call.version } : into.replaced,
  }
}

/** The debounce columns of a call stored as the first of its window. */
export function debounceColumns(debounce: NewDebounce, dispatches: number) {
  return {
    debounce_key: debounce.key,
    debounce_keep: debounce.keep,
    debounce_window_ms: debounce.windowMs,
    debounce_until: debounce.until ?? null,
    debounce_count: dispatches,
  }
}

/** The debounce columns as a call's reads give them (absent before the migration, null when not debounced). */
export interface DebounceColumns {
  debounce_key?: string | null
  debounce_keep?: string | null
  debounce_window_ms?: number | string | null
  debounce_until?: number | string | null
  debounce_count?: number | string | null
}

/** A row's debounce, when it has one. */
export function storedDebounce(row: DebounceColumns): StoredDebounce | undefined {
  if (row.debounce_key == null || row.debounce_window_ms == null) return undefined
  return {
    key: row.debounce_key,
    keep: row.debounce_keep === 'first' ? 'first' : 'last',
    windowMs: Number(row.debounce_window_ms),
    until: row.debounce_until == null ? undefined : Number(row.debounce_until),
    dispatches: Number(row.debounce_count ?? 1),
  }
}

/** The identity of a debounce key: calls collapse only with calls of the same function and endpoint. */
export function debounceScope(call: NewCall, debounce: NewDebounce): string {
  return JSON.stringify([call.function, call.endpoint, debounce.key])
}

/** What a batch's debounced calls do to the store. */
export interface DebouncePlan {
  /** Calls to store as the first of their window, as the batch's later calls of their key left them. */
  readonly inserts: { readonly call: NewCall; readonly debounce: NewDebounce; readonly dispatches: number }[]
  /** Stored debouncing calls the batch collapsed calls into. */
  readonly updates: Collapsed[]
  /** The id each collapsed call of the batch answers with (the call it collapsed into). */
  readonly survivors: Map<string, string>
}

/**
 * Collapses a batch's debounced calls, in batch order, into the stored debouncing calls of their
 * keys (`stored`, by {@link debounceScope}) and into each other: the first call of a key with none
 * stored is the one kept, and the key's later calls collapse into it.
 */
export function planDebounce(calls: readonly NewCall[], stored: ReadonlyMap<string, Collapsed>): DebouncePlan {
  const open = new Map<string, { collapsed: Collapsed; first?: NewCall; debounce?: NewDebounce }>()
  const survivors = new Map<string, string>()
  for (const call of calls) {
    const debounce = call.debounce!
    const scope = debounceScope(call, debounce)
    const current = open.get(scope)
    const into = current?.collapsed ?? stored.get(scope)
    if (into === undefined) {
      const first: Collapsed = {
        dispatchId: call.dispatchId,
        dueAt: call.dueAt,
        expiresAt: call.expiresAt,
        expirationMs: call.expirationMs,
        until: debounce.until,
        dispatches: 1,
        replaced: undefined,
      }
      open.set(scope, { collapsed: first, first: call, debounce })
      continue
    }
    open.set(scope, { ...current, collapsed: collapse(into, call, debounce) })
    survivors.set(call.dispatchId, into.dispatchId)
  }
  const inserts: DebouncePlan['inserts'] = []
  const updates: Collapsed[] = []
  for (const { collapsed, first, debounce } of open.values()) {
    if (first === undefined || debounce === undefined) {
      updates.push(collapsed)
      continue
    }
    const { dueAt, expiresAt, expirationMs, dispatches, replaced } = collapsed
    const call = { ...first, dueAt, expiresAt, expirationMs }
    inserts.push({
      call: replaced === undefined ? call : { ...call, input: replaced.input, version: replaced.version },
      debounce,
      dispatches,
    })
  }
  return { inserts, updates, survivors }
}

/** Results with each collapsed call answering with the id of the call it collapsed into. */
export function survivingResults(results: readonly InsertResult[], survivors: ReadonlyMap<string, string>) {
  return results.map((result): InsertResult => {
    const survivor = survivors.get(result.dispatchId)
    return survivor === undefined ? result : { dispatchId: survivor, inserted: false }
  })
}
