/**
 * The scheduler of `npm run bench:memory`, alone in its process so that its memory is all that is
 * measured. Started with `node --expose-gc --import tsx`; prints `{url, apiKey, verificationKeyPem}`
 * on stdout once it serves; answers each IPC `'sample'` with its memory after a full GC and its stats.
 * BENCH_DB names the SQLite file, BENCH_MAX_UNFINISHED the back-pressure bound.
 */
import { startScheduler } from '../../scheduler/index.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('start with node --expose-gc')
const scheduler = await startScheduler({
  dbPath: process.env['BENCH_DB']!,
  concurrency: 200,
  backPressure: { maxUnfinishedCalls: Number(process.env['BENCH_MAX_UNFINISHED']) },
})
process.on('message', async (message) => {
  if (message !== 'sample') return
  const stats = await scheduler.stats()
  // Twice: the first pass runs finalizers that free more on the second.
  gc()
  gc()
  const memory = process.memoryUsage()
  process.send!({ ...memory, unfinished: stats.unfinished ?? 0 })
})
process.on('disconnect', () => void scheduler.close().then(() => process.exit(0)))
process.stdout.write(
  `${JSON.stringify({ url: scheduler.url, apiKey: scheduler.apiKey, verificationKeyPem: scheduler.verificationKeyPem })}\n`,
)
