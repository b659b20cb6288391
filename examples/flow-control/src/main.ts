/**
 * The flow-control example (docs/flow-control.md), run under `dispatch run` (`npm run demo:flow`):
 * start the app, then show each flow tag of src/functions at work on the embedded scheduler, all at
 * once, and print what happened:
 *
 * - `@debounce`: a burst of 20 edits of one user makes one run, with the last edit;
 * - `@concurrency 1 key=accountId`: three syncs of one account run one at a time, another account's
 *   sync runs meanwhile;
 * - `@rateLimit 2/1s key=customerId`: six requests of one customer start two per second, another
 *   customer's request is not held back;
 * - `@priority` (with `@concurrency 1`, so reports queue up): an urgent report dispatched behind a
 *   backlog, with its own priority, runs before the backlog;
 * - `@schedule`: the heartbeat's calls, one per tick.
 *
 * Exits 0 when each did what its tag says.
 */
import { createCallServiceClient, dispatchBatch, waitForResult } from 'dispatch-functions'
import { dispatchClient } from './dispatch.gen/client.gen.js'
import { mostAtOnce, runs, until } from './journal.js'
import { startServer } from './server.js'

const calls = createCallServiceClient()
let failed = false
/** A finding of a section, printed `ok: ...`; `ok` false fails the demo. */
const check = (out: string[], ok: boolean, text: string) => {
  failed ||= !ok
  out.push(`${ok ? 'ok' : 'FAILED'}: ${text}`)
}
const runsOf = (fn: string, key?: string) => runs.filter((r) => r.fn === fn && (key === undefined || r.key === key))

/** 20 edits of user u1, one after the other: they collapse into one call, run with edit 20. */
async function debounce(): Promise<string[]> {
  const out: string[] = []
  const ids: string[] = []
  for (let n = 1; n <= 20; n++) ids.push(await dispatchClient.reindex({ userId: 'u1', n }))
  const id = ids[0]!
  const waiting = await calls.get(id)
  await waitForResult(id)
  const done = await calls.get(id)
  const ran = runsOf('reindex', 'u1')
  const input = ran[0]?.input as { n?: number } | undefined
  const distinct = new Set(ids).size
  check(out, distinct === 1, `20 dispatches got ${distinct} dispatch id${distinct === 1 ? '' : 's'}`)
  check(
    out,
    ran.length === 1 && input?.n === 20,
    `${ran.length} run${ran.length === 1 ? '' : 's'}, with edit ${input?.n} (keep=last)`,
  )
  check(out, done.debounce?.dispatches === 20, `calls get: it stands for ${done.debounce?.dispatches} dispatches`)
  out.unshift(`right after the burst: waiting ${waiting.waiting}`)
  return out
}

/** Three syncs of acct_1 and one of acct_2, in one batch. */
async function concurrency(): Promise<string[]> {
  const out: string[] = []
  const jobs = [1, 2, 3].map((n) => dispatchClient.syncAccount.build({ accountId: 'acct_1', n }))
  const ids = await dispatchBatch([...jobs, dispatchClient.syncAccount.build({ accountId: 'acct_2', n: 1 })])
  await Promise.all(ids.map((id) => waitForResult(id)))
  const one = runsOf('syncAccount', 'acct_1')
  const other = runsOf('syncAccount', 'acct_2')[0]!
  const alongside = one.some((r) => r.startedAt < other.endedAt! && other.startedAt < r.endedAt!)
  check(
    out,
    one.length === 3 && mostAtOnce.get('syncAccount/acct_1') === 1,
    `acct_1: ${one.length} runs, at most ${mostAtOnce.get('syncAccount/acct_1')} at once`,
  )
  // Not checked: on a busy machine acct_2's run may happen to fall between acct_1's.
  out.push(`acct_2: ran ${alongside ? 'while an acct_1 sync was running' : 'between acct_1 syncs'}`)
  return out
}

/** Six requests of cust_7 and one of cust_8, in one batch; the scheduler's attempt history says when each started. */
async function rateLimit(): Promise<string[]> {
  const out: string[] = []
  const requests = [1, 2, 3, 4, 5, 6].map((n) => dispatchClient.summarize.build({ customerId: 'cust_7', n }))
  const [other, ...ids] = await dispatchBatch([
    dispatchClient.summarize.build({ customerId: 'cust_8', n: 1 }),
    ...requests,
  ])
  await Promise.all([other!, ...ids].map((id) => waitForResult(id)))
  const starts = await Promise.all(ids.map(async (id) => Date.parse((await calls.inspect(id)).attempts[0]!.startedAt)))
  starts.sort((a, b) => a - b)
  // Starts a few ms apart are one wave; the next wave starts when the first leaves its 1 s period.
  const waves: number[][] = []
  for (const start of starts) {
    const wave = waves.at(-1)
    if (wave !== undefined && start - wave[0]! < 500) wave.push(start)
    else waves.push([start])
  }
  const otherStart = Date.parse((await calls.inspect(other!)).attempts[0]!.startedAt)
  check(
    out,
    waves.length === 3 && waves.every((wave) => wave.length === 2),
    `cust_7: 6 calls started in ${waves.length} waves of ${waves.map((w) => w.length).join(', ')}`,
  )
  check(out, otherStart < waves[1]![0]!, 'cust_8: started in the first wave, not held back by cust_7')
  const first = waves[0]![0]!
  out.push(`cust_7: waves started at ${waves.map((w) => `+${((w[0]! - first) / 1000).toFixed(1)}s`).join(', ')}`)
  return out
}

/** Five reports queue behind the one renderer; an urgent one with its own priority overtakes them. */
async function priority(): Promise<string[]> {
  const out: string[] = []
  const backlog = ['weekly-1', 'weekly-2', 'weekly-3', 'weekly-4', 'weekly-5']
  const ids = await dispatchBatch(backlog.map((name) => dispatchClient.report.build(name)))
  await until(() => runsOf('report').length > 0, 30_000, 'the first report to start')
  const urgent = await dispatchClient.report('urgent', { priority: 60 })
  await Promise.all([...ids, urgent].map((id) => waitForResult(id)))
  const order = runsOf('report').map((r) => r.input as string)
  const overtaken = order.length - 1 - order.indexOf('urgent')
  check(out, overtaken > 0, `urgent (priority 60) overtook ${overtaken} of the backlog (priority 10, declared)`)
  out.unshift(`run order: ${order.join(', ')}`)
  return out
}

/** The heartbeat's calls: `dispatch run` runs the schedule of schedules.gen.json. */
async function schedule(): Promise<string[]> {
  const out: string[] = []
  await until(() => runsOf('heartbeat').length >= 2, 30_000, 'two heartbeats (is `dispatch run` given the schedules?)')
  const page = await calls.list({ function: 'heartbeat' })
  const keys = page.calls.map((call) => call.idempotencyKey ?? '').sort()
  check(out, new Set(keys).size === keys.length, `${keys.length} ticks, one call each`)
  out.push(`first ticks: ${keys.slice(0, 2).join(', ')}`)
  return out
}

const app = await startServer()
const sections = {
  '@debounce 2s key=userId keep=last max=10s': debounce,
  '@concurrency 1 key=accountId': concurrency,
  '@rateLimit 2/1s key=customerId': rateLimit,
  '@priority 10 (and @concurrency 1)': priority,
  '@schedule "* * * * * *"': schedule,
}
// One at a time would take the sum of their waits; together, the longest (the debounce's window).
const results = await Promise.allSettled(Object.values(sections).map((section) => section()))
for (const [index, title] of Object.keys(sections).entries()) {
  const result = results[index]!
  console.log(title)
  if (result.status === 'rejected') {
    failed = true
    console.log(`  FAILED: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`)
  } else for (const line of result.value) console.log(`  ${line}`)
}
await app.close()
process.exitCode = failed ? 1 : 0
