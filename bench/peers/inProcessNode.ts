/**
 * Our in-process figure on PostgreSQL: one scheduler in this process that runs a no-op route table
 * itself (`startScheduler({ postgres, routes })`: no HTTP to an endpoint, no signature), the same N
 * calls dispatched through its API in batches of 1,000 by 4 clients; calls per second from the first
 * Dispatch request to the last result recorded in PostgreSQL. The figure to set beside
 * graphile-worker's and pg-boss's, which also run their jobs in the worker's process.
 */
import { defineRoutes, tupleSchema } from '../../runtime/index.js'
import { startScheduler } from '../../scheduler/index.js'
import { sleep } from '../e2e/benchArgs.js'
import { dispatchCalls } from '../e2e/dispatchCalls.js'
import { inBatches } from '../e2e/inBatches.js'

export interface InProcessRun {
  readonly calls: number
  readonly connectionString: string
  readonly schema: string
  readonly concurrency: number
  readonly log: (line: string) => void
}

export async function runInProcessNode(run: InProcessRun): Promise<{ perS: number }> {
  let ran = 0
  const routes = defineRoutes({
    noop: {
      source: 'bench/peers/inProcessNode.ts',
      input: tupleSchema([], 0),
      output: undefined,
      handler: () => {
        ran++
        return undefined
      },
    },
  })
  const scheduler = await startScheduler({
    postgres: { url: run.connectionString, schema: run.schema },
    concurrency: run.concurrency,
    routes,
  })
  try {
    const endpoint = scheduler.inProcessEndpoint!
    const succeeded = async () =>
      (await scheduler.stats()).filter((s) => s.state === 'succeeded').reduce((n, s) => n + s.count, 0)
    // Counting rows is a scan on the scheduler's own loop here: wait for the function to have run
    // them all (a counter), then poll the counts until every result is recorded.
    const until = async (total: number) => {
      while (ran < total) await sleep(10)
      while ((await succeeded()) < total) await sleep(10)
    }
    // Warm-up: the pool's connections, JIT.
    await dispatchCalls(
      scheduler,
      endpoint,
      Array.from({ length: 1000 }, () => []),
    )
    await until(1000)
    const started = performance.now()
    await inBatches(run.calls, (n) =>
      dispatchCalls(
        scheduler,
        endpoint,
        Array.from({ length: n }, () => []),
      ),
    )
    await until(1000 + run.calls)
    const perS = Math.round(run.calls / ((performance.now() - started) / 1000))
    run.log(`dispatch-functions in-process on PostgreSQL: ${run.calls} no-op calls, ${perS} calls/s`)
    return { perS }
  } finally {
    await scheduler.close()
  }
}
