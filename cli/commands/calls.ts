import { type Command, InvalidArgumentError, Option } from 'commander'
import { type CallServiceClient, createCallServiceClient } from 'dispatch-functions/internal'
import type { CallInfo } from 'dispatch-functions/protocol'
import { formatAttempts } from '../formatAttempts.js'
import { formatStats } from '../formatStats.js'
import { parseDurationFlag, parseHttpUrl, parseListLimit } from '../options.js'
import { secretFromFlags } from '../secretFlag.js'

interface ListFlags {
  state?: string
  function?: string
  fairnessKey?: string
  parent?: string
  limit: number
  cursor?: string
}

interface ApiFlags {
  apiUrl?: string
  apiKey?: string
  apiKeyFile?: string
  json?: boolean
}

const API_KEY_SECRET = { flag: '--api-key', fileFlag: '--api-key-file', envVar: 'DISPATCH_API_KEY' } as const

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
  const subcommand = (name: string) =>
    calls
      .command(name)
      .option('--api-url <url>', 'the scheduler API (default: DISPATCH_API_URL)', parseHttpUrl)
      .option('--api-key <key>', 'the API key (default: DISPATCH_API_KEY; on the command line it shows in ps)')
      .option('--api-key-file <path>', 'read the API key from this file (owner-only, e.g. chmod 600)')
      .option('--json', 'print JSON for scripts')

  const client = (command: Command): [CallServiceClient, ApiFlags] => {
    const flags = command.optsWithGlobals<ApiFlags>()
    const options: { apiUrl?: string; apiKey?: string } = {}
    if (flags.apiUrl !== undefined) options.apiUrl = flags.apiUrl
    const apiKey = secretFromFlags(API_KEY_SECRET, flags.apiKey, flags.apiKeyFile)
    if (apiKey !== undefined) options.apiKey = apiKey
    return [createCallServiceClient(options), flags]
  }

  subcommand('get')
    .description('show one call: state, attempts and their history (start, duration, status, error), output')
    .argument('<dispatchId>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const [api, flags] = client(command)
      const { call, attempts } = await api.inspect(id)
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...call, attemptHistory: attempts })}\n`)
      else printCall(call, flags, formatAttempts(attempts))
    })

  subcommand('list')
    .description(
      'list calls, newest first, a page at a time (inputs, outputs and errors over 64 KiB are left out: `calls get` shows them)',
    )
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
    .option('--fairness-key <key>', 'only calls of this tenant')
    .option('--parent <dispatchId>', 'only the calls this coroutine started (its children)')
    .option('--limit <n>', 'at most this many (1 to 1000; a page may hold fewer)', parseListLimit, 50)
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .action(async (opts: ListFlags, command) => {
      const [api, flags] = client(command)
      const filter: Record<string, unknown> = { limit: opts.limit }
      if (opts.state !== undefined) filter['state'] = opts.state
      if (opts.function !== undefined) filter['function'] = opts.function
      if (opts.fairnessKey !== undefined) filter['fairnessKey'] = opts.fairnessKey
      if (opts.parent !== undefined) filter['parentDispatchId'] = opts.parent
      if (opts.cursor !== undefined) filter['cursor'] = opts.cursor
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

  subcommand('cancel')
    .description('cancel a call that has not finished')
    .argument('<dispatchId>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const [api, flags] = client(command)
      printCall(await api.cancel(id), flags)
    })

  subcommand('redrive')
    .description('run a failed or cancelled call again from its original input')
    .argument('<dispatchId>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const [api, flags] = client(command)
      printCall(await api.redrive(id), flags)
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
  if (call.waiting) lines.push(`waiting:   ${WAITING[call.waiting]}`)
  if (call.priority) lines.push(`priority:  ${call.priority}`)
  if (call.concurrency) {
    const key =
      call.concurrency.key === '' ? 'all calls of the function' : `key ${JSON.stringify(call.concurrency.key)}`
    lines.push(`concurrency: at most ${call.concurrency.limit} running for ${key}`)
  }
  if (call.fairnessKey) lines.push(`tenant:    ${call.fairnessKey}`)
  if (call.error) lines.push(`error:     ${call.error.type}: ${call.error.message}`)
  if (call.output) lines.push(`output:    ${JSON.stringify(call.output.value)}`)
  lines.push(...history)
  process.stdout.write(`${lines.join('\n')}\n`)
}
