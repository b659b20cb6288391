import type Database from 'better-sqlite3'
import { json } from './callSql.js'
import {
  type Collapsed,
  debounceColumns,
  debounceScope,
  debouncing,
  planDebounce,
  storedDebouncing,
  survivingResults,
} from './debounceCollapse.js'
import type { InsertResult, NewCall } from './store.js'

/**
 * Debounce on SQLite (docs/flow-control.md): the debounced calls of a batch, collapsed into the
 * pending, never started calls of their keys, within the batch's transaction. One process writes
 * the file, so reading a key's debouncing call and changing it cannot race another dispatch.
 * Statements are prepared on the first debounced batch: a scheduler without one never prepares them.
 */
export class SqliteDebounce {
  private statements: ReturnType<typeof prepare> | undefined

  constructor(private readonly db: Database.Database) {}

  /**
   * Records a batch's `debounced` calls (in batch order, those that passed their idempotency keys)
   * inside the caller's transaction, each stored with `insert` as the first of its window or
   * collapsed. Returns the batch's `results` with collapsed calls answering with the id of the call
   * they collapsed into.
   */
  insert(
    debounced: readonly NewCall[],
    results: readonly InsertResult[],
    now: number,
    insert: (call: NewCall) => void,
  ): InsertResult[] {
    this.statements ??= prepare(this.db)
    const s = this.statements
    const stored = new Map<string, Collapsed>()
    for (const call of debounced) {
      const scope = debounceScope(call, call.debounce!)
      if (stored.has(scope)) continue
      const row = s.find.get(call.function, call.endpoint, call.debounce!.key) as
        | Parameters<typeof storedDebouncing>[0]
        | undefined
      if (row !== undefined) stored.set(scope, storedDebouncing(row))
    }
    const plan = planDebounce(debounced, stored)
    for (const { call, debounce, dispatches } of plan.inserts) {
      insert(call)
      s.mark.run({ id: call.dispatchId, ...debounceColumns(debounce, dispatches) })
    }
    for (const c of plan.updates) {
      s.update.run({
        id: c.dispatchId,
        due_at: c.dueAt,
        expires_at: c.expiresAt ?? null,
        expiration_ms: c.expirationMs ?? null,
        count: c.dispatches,
        replace: c.replaced === undefined ? 0 : 1,
        input: json(c.replaced?.input),
        version: c.replaced?.version ?? null,
        now,
      })
    }
    // A collapsed call's idempotency key answers with the call it collapsed into from now on.
    for (const call of debounced) {
      const survivor = plan.survivors.get(call.dispatchId)
      if (survivor !== undefined && call.idempotencyKey !== undefined)
        s.rekey.run(survivor, call.idempotencyKey, call.function, call.endpoint)
    }
    return survivingResults(results, plan.survivors)
  }
}

function prepare(db: Database.Database) {
  return {
    find: db.prepare(`
      SELECT id, due_at, expires_at, expiration_ms, debounce_until, debounce_count FROM calls
      WHERE function = ? AND endpoint = ? AND debounce_key = ? AND ${debouncing()}`),
    mark: db.prepare(`
      UPDATE calls SET debounce_key = @debounce_key, debounce_keep = @debounce_keep,
        debounce_window_ms = @debounce_window_ms, debounce_until = @debounce_until, debounce_count = @debounce_count
      WHERE id = @id`),
    update: db.prepare(`
      UPDATE calls SET due_at = @due_at, expires_at = @expires_at, expiration_ms = @expiration_ms,
        debounce_count = @count, input = CASE WHEN @replace = 1 THEN @input ELSE input END,
        version = CASE WHEN @replace = 1 THEN @version ELSE version END, updated_at = @now
      WHERE id = @id AND ${debouncing()}`),
    rekey: db.prepare('UPDATE idempotency_keys SET dispatch_id = ? WHERE key = ? AND function = ? AND endpoint = ?'),
  }
}
