import { createInterface } from 'node:readline/promises'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { type CallServiceClient, createCallServiceClient } from 'dispatch-functions/internal'
import type {
  BulkCallsRequest,
  BulkCallsResponse,
  CallInfo,
  CallState,
  ListCallsRequest,
} from 'dispatch-functions/protocol'
import { type ApiFlags, apiClientOptions, apiSubcommand } from '../apiCommand.js'
import { durationText } from '../durationText.js'
import { formatAny } from '../formatAny.js'
import { formatAttempts } from '../formatAttempts.js'
import { formatDebounce } from '../formatDebounce.js'
import { formatRestarts } from '../formatRestarts.js'
import { formatSchedule } from '../formatSchedule.js'
import { formatStats } from '../formatStats.js'
import { parseDurationFlag, parseListLimit } from '../options.js'
import { UsageError } from '../usageError.js'

/** The filter flags of `calls list`, and of `calls cancel` and `calls redrive` without a dispatch id. */
interface FilterFlags {
  state?: CallState
  function?: string
  endpoint?: string
  fairnessKey?: string
  parent?: string
  createdAfter?: string
  createdBefore?: string
  search?: string
}

interface ListFlags extends FilterFlags {
  limit: number
  cursor?: string
}

interface BulkFlags extends FilterFlags {
  yes?: boolean
}

/** `--created-after` / `--created-before`: an RFC 3339 instant, or a duration ago (`1h`: an hour ago). */
function parseInstantFlag(value: string): string {
  if (/^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)$/.test(value)) {
    return new Date(Date.now() - durationMs(value)).toISOString()
  }
  const ms = Date.parse(value)
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(
      `${JSON.stringify(value)} is not a time: use an RFC 3339 instant (2026-01-31T12:00:00Z) or a duration ago (30m, 2h, 7d)`,
    )
  return new Date(ms).toISOString()
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const durationMs = (value: string): number => {
  const [, n, unit] = /^([0-9.]+)([a-z]+)$/.exec(value)!
  return Number(n) * UNIT_MS[unit!]!
}

function withFilterFlags(command: Command): Command {
  return command
    .addOption(
      new Option('--state <state>', 'only calls in this state').choices([
        'pending',
        'running',
        'suspended',
        'succeeded',
        'failed',
        'cancelled',
      ]),
    )
    .option('--function <name>', 'only calls of this function')
    .option('--endpoint <url>', 'only calls to this endpoint URL')
    .option('--fairness-key <key>', 'only calls of this tenant')
    .option('--parent <dispatchId>', 'only the calls this coroutine started (its children)')
    .option(
      '--created-after <time>',
      'only calls created at or after this time (RFC 3339, or 2h: two hours ago)',
      parseInstantFlag,
    )
    .option(
      '--created-before <time>',
      'only calls created before this time (RFC 3339, or 2h: two hours ago)',
      parseInstantFlag,
    )
    .option('--search <text>', 'only the call with this dispatch id, or the calls with this idempotency key')
}

function bulkFilter(opts: FilterFlags): BulkCallsRequest {
  const filter: BulkCallsRequest = {}
  if (opts.state !== undefined) filter.state = opts.state
  if (opts.function !== undefined) filter.function = opts.function
  if (opts.endpoint !== undefined) filter.endpoint = opts.endpoint
  if (opts.fairnessKey !== undefined) filter.fairnessKey = opts.fairnessKey
  if (opts.parent !== undefined) filter.parentDispatchId = opts.parent
  if (opts.createdAfter !== undefined) filter.createdAfter = opts.createdAfter
  if (opts.createdBefore !== undefined) filter.createdBefore = opts.createdBefore
  if (opts.search !== undefined) filter.search = opts.search
  return filter
}

const idAndFilter = (verb: string) =>
  new UsageError('DSP4026', `calls ${verb} takes a dispatch id or filter flags, not both`)

/** Asks on the terminal; false unless the answer is y or yes. */
async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim())
  } finally {
    prompt.close()
  }
}

/**
 * `calls cancel|redrive` by filter: counts what matches (a dry run, page by page), asks for
 * confirmation unless `--yes` (and refuses without a terminal to ask on), then acts page by page.
 */
async function bulkAction(
  verb: 'cancel' | 'redrive',
  send: (request: BulkCallsRequest) => Promise<BulkCallsResponse>,
  opts: BulkFlags,
  flags: ApiFlags,
): Promise<void> {
  const filter = bulkFilter(opts)
  if (Object.keys(filter).length === 0)
    throw new UsageError(
      'DSP4026',
      `calls ${verb} needs a dispatch id or at least one filter flag`,
      `e.g. dispatch calls ${verb} --state ${verb === 'cancel' ? 'pending' : 'failed'} --function f`,
    )
  const pages = async (dryRun: boolean) => {
    let matched = 0
    let changed = 0
    let cursor: string | undefined
    do {
      const answer = await send({
        ...filter,
        limit: 1000,
        ...(dryRun ? { dryRun } : {}),
        ...(cursor ? { cursor } : {}),
      })
      matched += answer.matched
      changed += answer.changed
      cursor = answer.nextCursor
    } while (cursor !== undefined)
    return { matched, changed }
  }
  const done = verb === 'cancel' ? 'cancelled' : 'redriven'
  if (opts.yes !== true) {
    const { matched } = await pages(true)
    if (matched === 0) {
      process.stdout.write(
        flags.json ? `${JSON.stringify({ matched: 0, changed: 0 })}\n` : `no call to ${verb} matches\n`,
      )
      return
    }
    if (!process.stdin.isTTY)
      throw new UsageError(
        'DSP4027',
        `${matched} call${matched === 1 ? '' : 's'} would be ${done}, and there is no terminal to confirm on`,
        'add --yes to confirm',
      )
    if (!(await confirm(`${verb} ${matched} call${matched === 1 ? '' : 's'}? [y/N] `))) {
      process.stdout.write(`nothing was ${done}\n`)
      return
    }
  }
  const { matched, changed } = await pages(false)
  process.stdout.write(
    flags.json
      ? `${JSON.stringify({ matched, changed })}\n`
      : `${changed} call${changed === 1 ? '' : 's'} ${done}${matched > changed ? ` (${matched - changed} changed meanwhile)` : ''}\n`,
  )
}

/** `--payload`: a JSON value. */
function parseJsonFlag(value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not JSON (quote a string: '"yes"')`)
  }
}

/** Registers `dispatch calls get|list|wait|cancel|redrive|signal|stats|purge`, talking to a running scheduler. */
export function registerCalls(program: Command): void {
  const calls = program
    .command('calls')
    .description('inspect and manage calls on a running scheduler (DISPATCH_API_URL, DISPATCH_API_KEY)')

  // Every subcommand takes the connection flags and --json, before or after its argument.
  const subcommand = (name: string) => apiSubcommand(calls, name)

  const client = (command: Command): [CallServiceClient, ApiFlags] => {
    const [options, flags] = apiClientOptions(command)
    return [createCallServiceClient(options), flags]
  }

  subcommand('get')
    .description(
      'show one call: state, attempts and their history (start, duration, status, error), restarts from input with their reason, output',
    )
    .argument('<dispatchId>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const [api, flags] = client(command)
      const { call, attempts } = await api.inspect(id)
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...call, attemptHistory: attempts })}\n`)
      else printCall(call, flags, [...formatRestarts(call, attempts), ...formatAttempts(attempts)])
    })

  withFilterFlags(
    subcommand('list').description(
      'list calls, newest first, a page at a time (inputs, outputs and errors over 64 KiB are left out: `calls get` shows them)',
    ),
  )
    .option('--limit <n>', 'at most this many (1 to 1000; a page may hold fewer)', parseListLimit, 50)
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .action(async (opts: ListFlags, command) => {
      const [api, flags] = client(command)
      const filter: ListCallsRequest = { ...bulkFilter(opts), limit: opts.limit }
      if (opts.cursor !== undefined) filter.cursor = opts.cursor
      const answer = await api.list(filter)
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(answer)}\n`)
        return
      }
      for (const call of answer.calls) process.stdout.write(`${summaryLine(call)}\n`)
      if (answer.calls.length === 0) process.stdout.write('no calls\n')
      // The last line says how to get the next page, so a person (or `tail -1`) can follow it.
      if (answer.nextCursor !== undefined) process.stdout.write(`next cursor: ${answer.nextCursor}\n`)
    })

  subcommand('wait')
    .description('wait for a call to finish: exit 0 when it succeeded, 1 when it failed, 3 when the wait timed out')
    .argument('<dispatchId>')
    .option('--timeout <duration>', 'give up waiting after this long', parseDurationFlag, '60s')
    .action(async (id: string, opts: { timeout: string }, command: Command) => {
      const [api, flags] = client(command)
      const { call, done } = await api.wait(id, opts.timeout as `${number}s`)
      printCall(call, flags)
      process.exitCode = !done ? 3 : call.state === 'succeeded' ? 0 : 1
    })

  withFilterFlags(
    subcommand('cancel')
      .description(
        'cancel a call that has not finished, or every pending, running or suspended call that matches the filter flags (asks first)',
      )
      .argument('[dispatchId]'),
  )
    .option('--yes', 'do not ask for confirmation (a bulk cancel by filter)')
    .action(async (id: string | undefined, opts: BulkFlags, command: Command) => {
      const [api, flags] = client(command)
      if (id !== undefined) {
        if (Object.keys(bulkFilter(opts)).length > 0) throw idAndFilter('cancel')
        printCall(await api.cancel(id), flags)
        return
      }
      await bulkAction('cancel', (r) => api.cancelMany(r), opts, flags)
    })

  withFilterFlags(
    subcommand('redrive')
      .description(
        'run a failed or cancelled call again from its original input, or every failed or cancelled call that matches the filter flags (asks first)',
      )
      .argument('[dispatchId]'),
  )
    .option('--yes', 'do not ask for confirmation (a bulk redrive by filter)')
    .action(async (id: string | undefined, opts: BulkFlags, command: Command) => {
      const [api, flags] = client(command)
      if (id !== undefined) {
        if (Object.keys(bulkFilter(opts)).length > 0) throw idAndFilter('redrive')
        printCall(await api.redrive(id), flags)
        return
      }
      await bulkAction('redrive', (r) => api.redriveMany(r), opts, flags)
    })

  subcommand('signal')
    .description('send a signal to a call: a coroutine waiting with waitForSignal(name) resumes with the payload')
    .argument('<dispatchId>')
    .argument('<name>')
    .option('--payload <json>', 'the JSON payload of the signal (default: none)', parseJsonFlag)
    .action(async (id: string, name: string, opts: { payload?: unknown }, command: Command) => {
      const [api, flags] = client(command)
      printCall(await api.signal(id, name, opts.payload), flags)
    })

  subcommand('stats')
    .description("counts per function and state, and each endpoint's adaptive concurrency: in flight, limit, bounds")
    .action(async (_opts: unknown, command: Command) => {
      const [api, flags] = client(command)
      const stats = await api.stats()
      process.stdout.write(flags.json ? `${JSON.stringify(stats)}\n` : formatStats(stats))
    })

  subcommand('purge')
    .description(
      'delete finished calls (succeeded, failed, cancelled) last changed longer ago than --older-than; calls whose parent or root is still running are kept',
    )
    .requiredOption('--older-than <duration>', 'e.g. 7d, 12h, 30m (0s: every finished call)', parseDurationFlag)
    .action(async (opts: { olderThan: string }, command: Command) => {
      const [api, flags] = client(command)
      let deleted = 0
      // The scheduler deletes a bounded number per request, so a large purge never holds it up long.
      for (;;) {
        const answer = await api.purge(opts.olderThan as `${number}d`)
        deleted += answer.deleted
        if (answer.more !== true) break
      }
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ deleted })}\n`
          : `deleted ${deleted} finished call${deleted === 1 ? '' : 's'} older than ${opts.olderThan}\n`,
      )
    })
}

function summaryLine(call: CallInfo): string {
  return [
    call.dispatchId,
    call.function,
    call.state,
    call.status ?? '-',
    `attempts=${call.attempts}`,
    call.updatedAt,
  ].join('  ')
}

/** A coroutine's count restarts with each turn: say so, rather than show a bare 0 beside earlier turns. */
function attemptsLine(call: CallInfo): string {
  const restarts = call.restarts ? `, ${call.restarts} restarts` : ''
  if (call.state === 'suspended') return `${call.attempts}${restarts} (between turns: a coroutine counts per turn)`
  return call.resultsWaiting !== undefined
    ? `${call.attempts}${restarts} (in this turn of the coroutine)`
    : `${call.attempts}${restarts}`
}

/** Why a pending call has not started, as `calls get` says it. */
const WAITING: Readonly<Record<NonNullable<CallInfo['waiting']>, string>> = {
  delayed: 'delayed (its delay or notBefore has not passed)',
  backoff: 'backoff (its next attempt is not due yet)',
  queued: 'queued (due; waiting for a slot, behind calls of its queue that came first or rank higher)',
  concurrency: 'concurrency (due; its key is at its concurrency limit, or it is next in line for it)',
  rate_limited: 'rate_limited (due; its key has used its rate limit for this period, or it is next in line for it)',
  debounced: 'debounced (calls of its key dispatched within its window collapse into it)',
}

function printCall(call: CallInfo, flags: ApiFlags, history: readonly string[] = []): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(call)}\n`)
    return
  }
  const lines = [
    `id:        ${call.dispatchId}`,
    `function:  ${call.function} @ ${call.endpoint}`,
    `state:     ${call.state}`,
    `attempts:  ${attemptsLine(call)}`,
    `created:   ${call.createdAt}`,
    `updated:   ${call.updatedAt}`,
  ]
  // The status belongs to the last attempt, not to the call: a cancelled call's last attempt may have succeeded.
  if (call.status) lines.push(`last attempt: ${call.status}`)
  if (call.parentDispatchId) lines.push(`parent:    ${call.parentDispatchId}`)
  if (call.nextAttemptAt) lines.push(`next:      ${call.nextAttemptAt}`)
  const debounced = formatDebounce(call)
  if (call.waiting) lines.push(`waiting:   ${debounced.waiting ?? WAITING[call.waiting]}`)
  if (call.priority) lines.push(`priority:  ${call.priority}`)
  if (call.concurrency) {
    const key =
      call.concurrency.key === '' ? 'all calls of the function' : `key ${JSON.stringify(call.concurrency.key)}`
    lines.push(`concurrency: at most ${call.concurrency.limit} running for ${key}`)
  }
  if (call.rateLimit) {
    const key = call.rateLimit.key === '' ? 'all calls of the function' : `key ${JSON.stringify(call.rateLimit.key)}`
    lines.push(
      `rate limit: at most ${call.rateLimit.limit} starts per ${durationText(call.rateLimit.periodMs)} for ${key}`,
    )
  }
  if (debounced.debounce) lines.push(`debounce:  ${debounced.debounce}`)
  const schedule = formatSchedule(call.idempotencyKey)
  if (schedule) lines.push(`schedule:  ${schedule}`)
  if (call.fairnessKey) lines.push(`tenant:    ${call.fairnessKey}`)
  if (call.error) lines.push(`error:     ${call.error.type}: ${call.error.message}`)
  if (call.output) lines.push(`output:    ${formatAny(call.output)}`)
  lines.push(...history)
  process.stdout.write(`${lines.join('\n')}\n`)
}
