import pg from 'pg'

/**
 * The PostgreSQL counterpart of `storeInconsistencies` (processes.ts): what is inconsistent in a
 * schema once its scheduler nodes are gone — terminal calls still scheduled, pending calls never
 * due, running calls without a lease, idempotency keys of no call, attempt histories of no call
 * (no foreign key holds them to their call), and two calls under one idempotency key (a batch
 * resent after a lost answer must resolve to the first one's calls). Empty: consistent.
 */
export async function postgresInconsistencies(url: string, schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const problems: string[] = []
    const s = `"${schema}"`
    const count = async (what: string, sql: string) => {
      const n = Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0)
      if (n > 0) problems.push(`${n} ${what}`)
    }
    await count(
      'terminal calls still due',
      `SELECT COUNT(*) AS n FROM ${s}.calls WHERE state IN ('succeeded', 'failed', 'cancelled') AND due_at IS NOT NULL`,
    )
    await count(
      'pending calls never due',
      `SELECT COUNT(*) AS n FROM ${s}.calls WHERE state = 'pending' AND due_at IS NULL`,
    )
    await count(
      'running calls without a lease',
      `SELECT COUNT(*) AS n FROM ${s}.calls WHERE state = 'running' AND (lease_owner IS NULL OR due_at IS NULL)`,
    )
    await count(
      'idempotency keys of no call',
      `SELECT COUNT(*) AS n FROM ${s}.idempotency_keys k WHERE NOT EXISTS (SELECT 1 FROM ${s}.calls c WHERE c.id = k.dispatch_id)`,
    )
    await count(
      'attempt history entries of no call',
      `SELECT COUNT(*) AS n FROM ${s}.call_attempts a WHERE NOT EXISTS (SELECT 1 FROM ${s}.calls c WHERE c.id = a.call_id)`,
    )
    await count(
      'idempotency keys with more than one call',
      `SELECT COUNT(*) AS n FROM (SELECT idempotency_key FROM ${s}.calls WHERE idempotency_key IS NOT NULL
         GROUP BY idempotency_key, COALESCE(origin_function, function), COALESCE(origin_endpoint, endpoint)
         HAVING COUNT(*) > 1) d`,
    )
    return problems
  } finally {
    await client.end()
  }
}
