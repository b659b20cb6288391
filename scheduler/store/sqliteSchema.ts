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
]
