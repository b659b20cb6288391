import pg from 'pg'
import type { Statement } from './namedParams.js'
import { transientConnectError } from './postgresErrors.js'

// BIGINT (epoch ms) and COUNT come back as numbers, not strings: every value we store fits in 2^53.
const INT8_OID = 20
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
}

/** How the store's connections (the pool's and the listener's) reach the server. */
export function connectionConfig(url: string, schema: string): pg.ClientConfig {
  return {
    connectionString: url,
    types,
    // Names the installation in pg_stat_activity (and lets tests cut exactly these connections).
    application_name: `dispatch:${schema}`.slice(0, 63),
    // A server that vanished without closing the socket (a partition) is noticed by TCP
    // keep-alive, and a connection attempt gives up after 5 s (then retried with backoff).
    keepAlive: true,
    connectionTimeoutMillis: 5000,
  }
}

/**
 * The PostgreSQL store's connection pool: connections guarded against errors the server sends while
 * they sit idle or checked out, waited for with backoff while PostgreSQL is unreachable (up to
 * `connectRetryMs`), and discarded instead of reused once they failed.
 */
export class PostgresPool {
  private readonly pool: pg.Pool
  private readonly guarded = new WeakSet<pg.PoolClient>()
  private closed = false

  constructor(
    connection: pg.ClientConfig,
    size: number,
    private readonly connectRetryMs: number,
  ) {
    this.pool = new pg.Pool({ ...connection, max: size })
    // An idle connection the server closed (a restart) is dropped by the pool; without a
    // listener, the 'error' event would crash the process.
    this.pool.on('error', () => undefined)
    // A kill that lands as a connection is made can arrive in the same read as its ready-for-query:
    // pg then emits 'error' after the pool dropped its listener and before connect() resolves (found
    // by test/faults/postgres.faults.test.ts). Guard every connection as soon as it exists.
    this.pool.on('connect', (client) => client.on('error', () => undefined))
  }

  /** A pooled connection; while PostgreSQL is unreachable, retried with backoff up to `connectRetryMs`. */
  async connect(): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.connectRetryMs
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        const client = await this.pool.connect()
        if (!this.guarded.has(client)) {
          // The pool guards idle connections only: one the server drops while checked out would
          // otherwise emit an unhandled 'error' and crash the node. Its next query fails instead.
          this.guarded.add(client)
          client.on('error', () => undefined)
        }
        return client
      } catch (error) {
        if (this.closed || !transientConnectError(error) || Date.now() + delay > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /** Runs `work` on one connection; a connection that failed is discarded, not returned to the pool. */
  async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect()
    let failed: Error | undefined
    try {
      return await work(client)
    } catch (error) {
      failed = error as Error
      throw error
    } finally {
      client.release(failed !== undefined && transientConnectError(failed) ? failed : undefined)
    }
  }

  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.withClient((client) => client.query<R>(sql, params))
  }

  /** Runs a statement on a pooled connection, as a prepared statement when it is named. */
  run<R extends pg.QueryResultRow>(statement: Statement): Promise<pg.QueryResult<R>> {
    return this.withClient((client) => runOn<R>(client, statement))
  }

  /**
   * Runs `work` again when the connection was lost under it (PostgreSQL restarting), with backoff,
   * for up to `connectRetryMs`. Only for work that may safely run twice: reads, and writes that are
   * conditional or idempotent (completions apply only while the claim holds, releases and purges
   * converge). Inserts, claims, cancels and redrives are not retried here: their callers see the
   * error (a Dispatch answered 500 is not acknowledged; the client sends it again with its keys).
   */
  async retried<T>(work: () => Promise<T>, also: (error: unknown) => boolean = () => false): Promise<T> {
    const deadline = Date.now() + this.connectRetryMs
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await work()
      } catch (error) {
        if (this.closed || !(transientConnectError(error) || also(error)) || Date.now() + delay > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /** {@link query}, run again after a lost connection (see {@link retried}). */
  read<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.retried(() => this.query<R>(sql, params))
  }

  /** Runs `work` in one transaction on one connection. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN')
      try {
        const result = await work(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  /** Stops waiting for connections and closes them all. */
  async close(): Promise<void> {
    this.closed = true
    await this.pool.end()
  }
}

/**
 * Runs a statement on `client`. A named one is parsed once per connection and PostgreSQL keeps its
 * plan (after a few executions, a generic plan when it costs no more than the custom ones): a
 * completion's statement took longer to plan (about 1 ms) than to run for a batch of 40.
 */
export function runOn<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  statement: Statement,
): Promise<pg.QueryResult<R>> {
  return statement.name === undefined
    ? client.query<R>(statement.text, statement.values)
    : client.query<R>({ name: statement.name, text: statement.text, values: statement.values })
}
