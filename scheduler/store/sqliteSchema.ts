/**
 * The SQLite schema, as numbered migrations applied in order under `PRAGMA user_version`.
 * `due_at` is the one column claims look at: the next attempt of a pending call, the lease expiry
 * of a running one, NULL once terminal — so "what is due" is a single partial-index range scan.
 * `origin_*` are NULL until a tail call replaces the call, so inputs are not stored twice.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    input TEXT,
    version TEXT,
    correlation_id TEXT,
    state TEXT NOT NULL,
    status TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    due_at INTEGER,
    expires_at INTEGER,
    expiration_ms INTEGER,
    fairness_key TEXT,
    idempotency_key TEXT,
    parent_id TEXT,
    root_id TEXT,
    output TEXT,
    error TEXT,
    lease_owner TEXT,
    origin_function TEXT,
    origin_endpoint TEXT,
    origin_input TEXT
  );
  CREATE INDEX calls_due ON calls (due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX calls_state ON calls (state, id);
  CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    dispatch_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
  `,
  // Fair scheduling claims per queue and lists the queues with due calls: both are range scans of
  // this index (per queue, due first), instead of filtering the whole due range.
  `
  CREATE INDEX calls_queue_due ON calls (endpoint, function, fairness_key, due_at) WHERE due_at IS NOT NULL;
  `,
  // Durable coroutines. `poll_state` (JSON of the Poll's state field) is set while a call is a
  // coroutine between turns; `parent_epoch` is set on a child that still owes its parent a result, for
  // that epoch of the parent; `results_waiting` counts the rows of `call_results` a parent has not
  // consumed, so "enough results to resume" is a column compare, not a count. AUTOINCREMENT keeps
  // `seq` growing even after deletes: it is the arrival order.
  `
  ALTER TABLE calls ADD COLUMN poll_state TEXT;
  ALTER TABLE calls ADD COLUMN min_results INTEGER;
  ALTER TABLE calls ADD COLUMN max_results INTEGER;
  ALTER TABLE calls ADD COLUMN poll_deadline INTEGER;
  ALTER TABLE calls ADD COLUMN poll_error TEXT;
  ALTER TABLE calls ADD COLUMN results_waiting INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE calls ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE calls ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE calls ADD COLUMN parent_epoch INTEGER;
  CREATE INDEX calls_parent ON calls (parent_id) WHERE parent_id IS NOT NULL;
  CREATE TABLE call_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    child_id TEXT NOT NULL,
    correlation_id TEXT,
    output TEXT,
    error TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX call_results_parent ON call_results (parent_id, seq);
  `,
  // Idempotency keys are scoped to the function and endpoint of their call (one tenant's key never
  // answers another's call), and remember a digest of the first input, so that reusing a key with
  // another input is refused. Keys recorded before have no digest: any input repeats them.
  `
  CREATE TABLE idempotency_scoped (
    key TEXT NOT NULL,
    function TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    dispatch_id TEXT NOT NULL,
    input_hash TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key, function, endpoint)
  );
  INSERT INTO idempotency_scoped (key, function, endpoint, dispatch_id, input_hash, created_at)
    SELECT k.key, COALESCE(c.origin_function, c.function), COALESCE(c.origin_endpoint, c.endpoint), k.dispatch_id,
      NULL, k.created_at
    FROM idempotency_keys AS k JOIN calls AS c ON c.id = k.dispatch_id;
  DROP TABLE idempotency_keys;
  ALTER TABLE idempotency_scoped RENAME TO idempotency_keys;
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
  `,
  // Each call's attempt history (the last few), written with each outcome. The trigger drops a
  // call's history with the call, whatever deletes it.
  `
  CREATE TABLE call_attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
  );
  CREATE INDEX call_attempts_call ON call_attempts (call_id, seq);
  CREATE TRIGGER calls_delete_attempts AFTER DELETE ON calls
  BEGIN
    DELETE FROM call_attempts WHERE call_id = OLD.id;
  END;
  `,
  // Retention deletes finished calls oldest first: a range scan of this index, which holds only
  // finished rows, so claims and completions of live calls never update it.
  `
  CREATE INDEX calls_finished ON calls (updated_at) WHERE state IN ('succeeded', 'failed', 'cancelled');
  `,
  // The W3C trace context a call was dispatched with, sent with each of its attempts.
  `
  ALTER TABLE calls ADD COLUMN traceparent TEXT;
  `,
  // Children a coroutine started with `detached`: they outlive its exit, when its other unfinished
  // children are cancelled (docs/protocol.md §12.5). Rows written before are not detached.
  `
  ALTER TABLE calls ADD COLUMN detached INTEGER NOT NULL DEFAULT 0;
  `,
  // A coroutine's state (its journal, up to 16 MiB) lives in a table of its own, and `poll_state`
  // on the call only says that it has one (''), so that recording each child's result for its
  // parent (results_waiting, due_at) rewrites a row of a few hundred bytes, not the journal's
  // overflow pages. The triggers drop a state with the call's Poll, whatever clears or deletes it.
  `
  CREATE TABLE poll_states (
    call_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
  );
  INSERT INTO poll_states (call_id, state) SELECT id, poll_state FROM calls WHERE poll_state IS NOT NULL;
  UPDATE calls SET poll_state = '' WHERE poll_state IS NOT NULL;
  CREATE TRIGGER calls_clear_poll_state AFTER UPDATE OF poll_state ON calls
  WHEN NEW.poll_state IS NULL AND OLD.poll_state IS NOT NULL
  BEGIN
    DELETE FROM poll_states WHERE call_id = OLD.id;
  END;
  CREATE TRIGGER calls_delete_poll_state AFTER DELETE ON calls
  WHEN OLD.poll_state IS NOT NULL
  BEGIN
    DELETE FROM poll_states WHERE call_id = OLD.id;
  END;
  `,
  // Flow control (docs/flow-control.md). `priority`: what a call was dispatched with, for inspection
  // (its head start is already in due_at). `concurrency_key` is set on the calls of a function with a
  // per-key concurrency limit ('' for the function-wide key), `concurrency_limit` with it: ordinary
  // claims pass over such calls, which a claim of their own takes while their key has room. Both
  // indexes hold capped calls only, so the calls of functions without a limit never update them.
  `
  ALTER TABLE calls ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE calls ADD COLUMN concurrency_key TEXT;
  ALTER TABLE calls ADD COLUMN concurrency_limit INTEGER;
  CREATE INDEX calls_capped_due ON calls (due_at) WHERE concurrency_key IS NOT NULL AND due_at IS NOT NULL;
  CREATE INDEX calls_capped_running ON calls (function, concurrency_key) WHERE concurrency_key IS NOT NULL AND state = 'running';
  `,
  // Rate limits (docs/flow-control.md). A rate-limited call is a capped call (`concurrency_key` set,
  // '' with a null `concurrency_limit` when it has no concurrency limit), so ordinary claims pass over
  // it and functions without flow options pay nothing; `rate_*` say its rate key and limit.
  // `rate_starts` holds one row per start of a rate-limited call until its period has passed: a
  // sliding window, exact (a fixed window lets twice the limit through across its boundary).
  `
  ALTER TABLE calls ADD COLUMN rate_key TEXT;
  ALTER TABLE calls ADD COLUMN rate_limit INTEGER;
  ALTER TABLE calls ADD COLUMN rate_period_ms INTEGER;
  CREATE TABLE rate_starts (
    function TEXT NOT NULL,
    rate_key TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX rate_starts_key ON rate_starts (function, rate_key, expires_at);
  CREATE INDEX rate_starts_expiry ON rate_starts (expires_at);
  `,
  // Debounce (docs/flow-control.md). `debounce_key` is set on a call dispatched with a debounce, the
  // other `debounce_*` with it (its keep, window, max wait as a time, and how many dispatches it
  // stands for). The unique index holds only debounced calls that have never started: the one call
  // per key that new dispatches collapse into, found by a lookup of this index, never two of them.
  // Calls without a debounce never enter it.
  `
  ALTER TABLE calls ADD COLUMN debounce_key TEXT;
  ALTER TABLE calls ADD COLUMN debounce_keep TEXT;
  ALTER TABLE calls ADD COLUMN debounce_window_ms INTEGER;
  ALTER TABLE calls ADD COLUMN debounce_until INTEGER;
  ALTER TABLE calls ADD COLUMN debounce_count INTEGER;
  CREATE UNIQUE INDEX calls_debouncing ON calls (function, endpoint, debounce_key)
    WHERE debounce_key IS NOT NULL AND state = 'pending' AND attempts = 0 AND epoch = 0;
  `,
  // Capped calls by group (docs/flow-control.md): a capped claim reads only the first calls of each
  // (function, concurrency key, rate key, endpoint, fairness key) from calls_capped_heads, instead of
  // every due capped call, and the queues waiting on one key take turns.
  `
  CREATE INDEX calls_capped_heads ON calls (function, concurrency_key, ifnull(rate_key, ''), endpoint, fairness_key, due_at)
    WHERE concurrency_key IS NOT NULL AND due_at IS NOT NULL;
  `,
  // Schedules (docs/flow-control.md): one row per schedule. A tick is fired by moving `next_tick_at`
  // on (compare-and-set on its old value) and inserting the tick's call in one transaction, so a tick
  // is fired once whatever crashes; `input` is the JSON array of arguments each tick's call gets.
  `
  CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    input TEXT NOT NULL,
    missed TEXT NOT NULL,
    catch_up INTEGER NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    next_tick_at INTEGER,
    last_tick_at INTEGER,
    updated_at INTEGER NOT NULL
  );
  `,
]
