/**
 * The PostgreSQL schema, as numbered migrations applied in order (see `migratePostgres`). Each
 * takes the quoted schema name, so several installations can share one database.
 *
 * The shape follows the SQLite schema: `due_at` is the one column claims look at (the next attempt
 * of a pending call, the lease expiry of a running one, NULL once terminal). Times are epoch
 * milliseconds in BIGINT, messages are JSON text (handed back byte for byte), ids are ULIDs
 * compared bytewise (`COLLATE "C"`) so listing and paging by id match SQLite's order.
 */
export const POSTGRES_MIGRATIONS: readonly ((schema: string) => string)[] = [
  (s) => `
  CREATE TABLE ${s}.calls (
    id TEXT COLLATE "C" PRIMARY KEY,
    function TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    input TEXT,
    version TEXT,
    correlation_id TEXT,
    state TEXT NOT NULL,
    status TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    due_at BIGINT,
    expires_at BIGINT,
    expiration_ms BIGINT,
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
  CREATE INDEX calls_due ON ${s}.calls (due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX calls_queue_due ON ${s}.calls (endpoint, function, fairness_key, due_at) WHERE due_at IS NOT NULL;
  CREATE INDEX calls_state ON ${s}.calls (state, id);
  CREATE TABLE ${s}.idempotency_keys (
    key TEXT PRIMARY KEY,
    dispatch_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX idempotency_keys_created ON ${s}.idempotency_keys (created_at);
  -- Values every node of an installation shares: the API key and the signing key.
  CREATE TABLE ${s}.settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // Durable coroutines: the same columns and table as SQLite's migration 3 (see there).
  (s) => `
  ALTER TABLE ${s}.calls
    ADD COLUMN poll_state TEXT,
    ADD COLUMN min_results INTEGER,
    ADD COLUMN max_results INTEGER,
    ADD COLUMN poll_deadline BIGINT,
    ADD COLUMN poll_error TEXT,
    ADD COLUMN results_waiting INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN parent_epoch INTEGER;
  CREATE INDEX calls_parent ON ${s}.calls (parent_id) WHERE parent_id IS NOT NULL;
  CREATE TABLE ${s}.call_results (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id TEXT COLLATE "C" NOT NULL,
    epoch INTEGER NOT NULL,
    child_id TEXT NOT NULL,
    correlation_id TEXT,
    output TEXT,
    error TEXT,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX call_results_parent ON ${s}.call_results (parent_id, seq);
  `,
  // Idempotency keys scoped to their call's function and endpoint, with a digest of the first input (see
  // SQLite's migration 4). The endpoint is indexed by its md5 so that the key fits a B-tree entry.
  (s) => `
  CREATE TABLE ${s}.idempotency_scoped (
    key TEXT NOT NULL,
    function TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    dispatch_id TEXT NOT NULL,
    input_hash TEXT,
    created_at BIGINT NOT NULL
  );
  INSERT INTO ${s}.idempotency_scoped (key, function, endpoint, dispatch_id, input_hash, created_at)
    SELECT k.key, COALESCE(c.origin_function, c.function), COALESCE(c.origin_endpoint, c.endpoint), k.dispatch_id,
      NULL, k.created_at
    FROM ${s}.idempotency_keys AS k JOIN ${s}.calls AS c ON c.id = k.dispatch_id;
  DROP TABLE ${s}.idempotency_keys;
  ALTER TABLE ${s}.idempotency_scoped RENAME TO idempotency_keys;
  CREATE UNIQUE INDEX idempotency_keys_scope ON ${s}.idempotency_keys (key, function, md5(endpoint));
  CREATE INDEX idempotency_keys_created ON ${s}.idempotency_keys (created_at);
  `,
  // Each call's attempt history (the last few), written with each outcome; it goes with its call.
  (s) => `
  CREATE TABLE ${s}.call_attempts (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id TEXT COLLATE "C" NOT NULL REFERENCES ${s}.calls (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
  );
  CREATE INDEX call_attempts_call ON ${s}.call_attempts (call_id, seq);
  `,
  // Retention: the same partial index as SQLite's calls_finished (see there).
  (s) => `
  CREATE INDEX calls_finished ON ${s}.calls (updated_at) WHERE state IN ('succeeded', 'failed', 'cancelled');
  `,
  // The W3C trace context a call was dispatched with, sent with each of its attempts.
  (s) => `
  ALTER TABLE ${s}.calls ADD COLUMN traceparent TEXT;
  `,
  // Detached children of a coroutine (see SQLite's migration of the same number).
  (s) => `
  ALTER TABLE ${s}.calls ADD COLUMN detached BOOLEAN NOT NULL DEFAULT false;
  `,
  // Flow control: each call's priority, and the per-key concurrency of capped calls (see SQLite's
  // migration of the same number).
  (s) => `
  ALTER TABLE ${s}.calls ADD COLUMN priority SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN concurrency_key TEXT COLLATE "C",
    ADD COLUMN concurrency_limit INTEGER;
  CREATE INDEX calls_capped_due ON ${s}.calls (due_at) WHERE concurrency_key IS NOT NULL AND due_at IS NOT NULL;
  CREATE INDEX calls_capped_running ON ${s}.calls (function, concurrency_key)
    WHERE concurrency_key IS NOT NULL AND state = 'running';
  `,
  // Rate limits (see SQLite's migration of the same number).
  (s) => `
  ALTER TABLE ${s}.calls ADD COLUMN rate_key TEXT COLLATE "C",
    ADD COLUMN rate_limit INTEGER,
    ADD COLUMN rate_period_ms INTEGER;
  CREATE TABLE ${s}.rate_starts (
    function TEXT COLLATE "C" NOT NULL,
    rate_key TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX rate_starts_key ON ${s}.rate_starts (function, rate_key, expires_at);
  CREATE INDEX rate_starts_expiry ON ${s}.rate_starts (expires_at);
  `,
  // Debounce (see SQLite's debounce migration). The endpoint is indexed by its md5, as idempotency
  // keys are, so that the entry fits a B-tree page.
  (s) => `
  ALTER TABLE ${s}.calls ADD COLUMN debounce_key TEXT COLLATE "C",
    ADD COLUMN debounce_keep TEXT,
    ADD COLUMN debounce_window_ms INTEGER,
    ADD COLUMN debounce_until BIGINT,
    ADD COLUMN debounce_count INTEGER;
  CREATE UNIQUE INDEX calls_debouncing ON ${s}.calls (function, md5(endpoint), debounce_key)
    WHERE debounce_key IS NOT NULL AND state = 'pending' AND attempts = 0 AND epoch = 0;
  `,
  // Capped calls by group: a claim that reads only the first calls of each (function, concurrency
  // key, rate key, endpoint, fairness key) (see SQLite's migration of the same number).
  (s) => `
  CREATE INDEX calls_capped_heads
    ON ${s}.calls (function, concurrency_key, coalesce(rate_key, ''), endpoint, fairness_key, due_at)
    WHERE concurrency_key IS NOT NULL AND due_at IS NOT NULL;
  `,
  // Schedules (see SQLite's schedules migration).
  (s) => `
  CREATE TABLE ${s}.schedules (
    name TEXT COLLATE "C" PRIMARY KEY,
    function TEXT COLLATE "C" NOT NULL,
    endpoint TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    input TEXT NOT NULL,
    missed TEXT NOT NULL,
    catch_up INTEGER NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT false,
    next_tick_at BIGINT,
    last_tick_at BIGINT,
    updated_at BIGINT NOT NULL
  );
  `,
  // Attempt histories without a foreign key to their call: its check locked the call's row again
  // (a WAL record) for every history entry, in the transaction that had just updated that row.
  // purgeFinishedCalls deletes a call's entries with it, as the cascade did.
  (s) => `
  ALTER TABLE ${s}.call_attempts DROP CONSTRAINT IF EXISTS call_attempts_call_id_fkey;
  `,
]
