/**
 * One scheduler node of the peer benchmark, in its own process: the PostgreSQL store at
 * BENCH_NODE_URL, schema BENCH_NODE_SCHEMA (the nodes of one run share it, and with it the keys),
 * `concurrency` BENCH_NODE_CONCURRENCY, defaults otherwise. Prints one JSON line
 * `{url, apiKey, verificationKeyPem}` once it serves; closes cleanly on SIGTERM or when the benchmark
 * closes its stdin (so a `--cpu-prof` profile is written).
 */
import { startScheduler } from '../../scheduler/index.js'

const url = process.env['BENCH_NODE_URL']
const schema = process.env['BENCH_NODE_SCHEMA']
if (!url || !schema) throw new Error('set BENCH_NODE_URL and BENCH_NODE_SCHEMA')
const scheduler = await startScheduler({
  postgres: { url, schema },
  concurrency: Number(process.env['BENCH_NODE_CONCURRENCY'] ?? 200),
})
process.stdout.write(
  `${JSON.stringify({ url: scheduler.url, apiKey: scheduler.apiKey, verificationKeyPem: scheduler.verificationKeyPem })}\n`,
)
const stop = () => void scheduler.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.stdin.on('end', stop)
process.stdin.resume()
