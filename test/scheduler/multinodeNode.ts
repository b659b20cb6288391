/**
 * One scheduler node on PostgreSQL, in its own process, for the multi-node tests: started with
 * `node --import tsx`, it prints one JSON line `{url, apiKey, verificationKeyPem}` once it serves,
 * and runs until killed. DISPATCH_TEST_DATABASE_URL and DISPATCH_TEST_SCHEMA name the store; the
 * keys come from the schema, so every node signs with the same key.
 */
import { startScheduler } from '../../scheduler/index.js'

const url = process.env['DISPATCH_TEST_DATABASE_URL']
const schema = process.env['DISPATCH_TEST_SCHEMA']
if (!url || !schema) throw new Error('set DISPATCH_TEST_DATABASE_URL and DISPATCH_TEST_SCHEMA')
const scheduler = await startScheduler({
  // Short leases, renewed while attempts run: a killed node's calls are taken over within about
  // 3 s, although an attempt may take a minute (without renewal the lease would be 61 s).
  postgres: { url, schema, leaseMs: 3000 },
  retry: {
    initialBackoffMs: 5,
    maxBackoffMs: 50,
    // Crash tests that take an endpoint down for a while raise the budget (DISPATCH_TEST_MAX_ATTEMPTS).
    maxAttempts: Number(process.env['DISPATCH_TEST_MAX_ATTEMPTS'] || 50),
    attemptTimeoutMs: 60_000,
  },
  leaseMarginMs: 1000,
  concurrency: 64,
  pollIntervalMs: 200,
})
process.stdout.write(
  `${JSON.stringify({ url: scheduler.url, apiKey: scheduler.apiKey, verificationKeyPem: scheduler.verificationKeyPem })}\n`,
)
process.on('SIGTERM', () => {
  void scheduler.close().then(() => process.exit(0))
})
