import { type ChildProcess, spawn } from 'node:child_process'
import type { Command } from 'commander'
import { codedMessage } from 'dispatch-functions/protocol'
import { EndpointAllowList } from '../../scheduler/internal.js'
import { chooseAppPort } from '../appPort.js'
import { startLiveSummary } from '../liveSummary.js'
import {
  ALLOW_ENDPOINT_HELP,
  BATCH_HELP,
  collectAllowEndpoint,
  collectProtoEndpoint,
  PROTO_ENDPOINT_HELP,
  parseBatchFlag,
  parseHttpUrl,
  parsePort,
  parseRetentionFlag,
} from '../options.js'
import { addPostgresFlags, describeStore, type PostgresFlags, postgresOption } from '../postgresFlag.js'
import { removeRunState, runStatePath, writeRunState } from '../runState.js'
import { schedulerListenError } from '../schedulerListenError.js'
import { generatedSchedulesFile, readSchedulesFile } from '../schedulesFile.js'
import { UsageError } from '../usageError.js'

interface RunFlags extends PostgresFlags {
  db: string
  port: number
  endpoint?: string
  allowEndpoint?: string[]
  protoEndpoint?: string[]
  appPort?: number
  watch?: boolean
  retention?: string | false
  batch?: number
  ui?: boolean
  schedules?: string
}

const DEFAULT_DB = '.dispatch/dispatch.db'
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Registers `dispatch run`: the embedded scheduler plus the user's application as a child
 * process, wired together through DISPATCH_* variables and PORT. Exits with the child's code.
 */
export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description(
      'start the embedded scheduler, then run <command> (your app) with PORT and the DISPATCH_* variables set',
    )
    .argument('<command...>', 'the command that starts your application, after --')
    .option('--db <path>', 'SQLite database file (keys are kept beside it)', DEFAULT_DB)
    .option('--port <n>', 'port of the scheduler API (0: any free port)', parsePort, 4001)
    .option(
      '--app-port <n>',
      'the port your app listens on, given to it as PORT (default: a free port); refused when taken',
      parsePort,
    )
    .option(
      '--endpoint <url>',
      'URL at which the scheduler reaches your app (default: http://127.0.0.1:PORT)',
      parseHttpUrl,
    )
    .option('--allow-endpoint <pattern>', ALLOW_ENDPOINT_HELP, collectAllowEndpoint)
    .option('--proto-endpoint <pattern>', PROTO_ENDPOINT_HELP, collectProtoEndpoint)
    .option('--batch <n>', BATCH_HELP, parseBatchFlag)
    .option('--watch', 'also regenerate the client and route table when functions change (dispatch gen --watch)')
    .option(
      '--retention <duration>',
      'delete finished calls this long after they finished (default 7d; 0 or off: keep them)',
      parseRetentionFlag,
    )
    .option('--no-ui', 'do not serve the web dashboard (default: on the API under /ui/, loopback only)')
    .option(
      '--schedules <file>',
      'run the cron schedules of this file on your app (default: the schedules.gen.json `dispatch gen` wrote, if any)',
    )
    .passThroughOptions()
  addPostgresFlags(command).action(async (command: string[], flags: RunFlags) => {
    process.exitCode = await run(command, flags)
  })
}

/**
 * The app's port and URL. `--endpoint` alone means the app is reached elsewhere (a proxy, another
 * host): PORT is then set only with `--app-port`. DISPATCH_ENDPOINT_URL in the environment is not
 * read, since it is what `dispatch env` exports for another run and would point at that run's app.
 */
async function appAddress(flags: RunFlags): Promise<{ port: number | undefined; endpoint: string }> {
  if (flags.endpoint !== undefined) {
    const port = flags.appPort === undefined ? undefined : await chooseAppPort(flags.appPort)
    return { port, endpoint: flags.endpoint }
  }
  const port = await chooseAppPort(flags.appPort)
  return { port, endpoint: `http://127.0.0.1:${port}` }
}

async function run(command: string[], flags: RunFlags): Promise<number> {
  const [file, ...args] = command
  if (file === undefined)
    throw new UsageError('DSP4001', 'dispatch run needs a command', 'dispatch run -- node server.js')
  const postgres = postgresOption(flags)
  const app = await appAddress(flags)
  // The `@schedule` tags `dispatch gen` found, run on this app (docs/flow-control.md, "Schedules").
  const schedulesFile = flags.schedules ?? (await generatedSchedulesFile(process.cwd()))
  const schedules = schedulesFile === undefined ? [] : readSchedulesFile(schedulesFile, app.endpoint)
  const { startScheduler } = await import('../../scheduler/index.js')
  const scheduler = await startScheduler({
    dbPath: flags.db,
    port: flags.port,
    ...(schedules.length > 0 ? { schedules } : {}),
    ...(postgres ? { postgres } : {}),
    ...(flags.allowEndpoint ? { allowEndpoints: flags.allowEndpoint } : {}),
    ...(flags.protoEndpoint ? { protoEndpoints: flags.protoEndpoint } : {}),
    ...(flags.batch !== undefined ? { batchDelivery: { maxCalls: flags.batch } } : {}),
    ...(flags.retention !== undefined ? { retention: flags.retention as `${number}d` | false } : {}),
    // A development run serves its dashboard to this machine only, whatever reaches its port.
    dashboard: flags.ui === false ? false : { loopbackOnly: true },
  }).catch((error: unknown) => {
    throw schedulerListenError(error, '127.0.0.1', flags.port)
  })
  const statePath = runStatePath(flags.db)
  let reachable: string
  try {
    writeRunState(statePath, {
      pid: process.pid,
      apiUrl: scheduler.url,
      apiKey: scheduler.apiKey,
      endpointUrl: app.endpoint,
    })
    const envCommand = flags.db === DEFAULT_DB ? 'npx dispatch env' : `npx dispatch env --db ${flags.db}`
    reachable = `to dispatch from another terminal or a script: eval "$(${envCommand})"`
  } catch (error) {
    // The app runs all the same; only `dispatch env` cannot find this run.
    reachable = `cannot write ${statePath} (${(error as NodeJS.ErrnoException).code}): dispatch env will not find this run`
  }
  if (
    flags.allowEndpoint !== undefined &&
    new EndpointAllowList(flags.allowEndpoint).refusal(app.endpoint) !== undefined
  ) {
    process.stderr.write(
      `dispatch: warning: --allow-endpoint does not allow your app's endpoint ${app.endpoint}: calls to it will be refused\n`,
    )
  }
  process.stderr.write(
    `dispatch: scheduler API on ${scheduler.url} (${describeStore(postgres, flags.db)})\n` +
      `dispatch: your app ${app.port === undefined ? '' : `gets PORT=${app.port} and `}is called at ${app.endpoint}\n` +
      (schedules.length === 0
        ? ''
        : `dispatch: ${schedules.length} schedule${schedules.length === 1 ? '' : 's'} from ${schedulesFile} (npx dispatch schedules list)\n`) +
      `dispatch: Prometheus metrics on ${scheduler.metricsUrl} (Authorization: Bearer $DISPATCH_API_KEY)\n` +
      (scheduler.dashboardUrl === undefined
        ? ''
        : `dispatch: dashboard on ${scheduler.dashboardUrl} (log in with DISPATCH_API_KEY: npx dispatch env prints it)\n`) +
      `dispatch: ${reachable}\n`,
  )

  const generator = flags.watch ? startGenerator() : undefined
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...(app.port === undefined ? {} : { PORT: String(app.port) }),
      DISPATCH_API_URL: scheduler.url,
      DISPATCH_API_KEY: scheduler.apiKey,
      DISPATCH_ENDPOINT_URL: app.endpoint,
      DISPATCH_VERIFICATION_KEY: scheduler.verificationKeyPem,
    },
  })
  const stopSummary = startLiveSummary(() => scheduler.stats(), process.stdout.isTTY === true)
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal)
  const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const)
  for (const [signal, handler] of handlers) process.on(signal, handler)

  const code = await new Promise<number>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      process.stderr.write(
        error.code === 'ENOENT'
          ? `dispatch: ${codedMessage('DSP4002', `command not found: ${file}`)}\n  hint: check the command after --, e.g. dispatch run -- node server.js\n`
          : `dispatch: ${codedMessage('DSP4003', `cannot start ${file}: ${error.message}`)}\n`,
      )
      resolve(127)
    })
    child.once('exit', (status, signal) => resolve(status ?? 128 + signalNumber(signal)))
  })
  for (const [signal, handler] of handlers) process.off(signal, handler)
  await stopGenerator(generator)
  removeRunState(statePath)
  await stopSummary()
  await scheduler.close()
  return code
}

/** `dispatch gen --watch` beside the app, as a child process of this same command. */
function startGenerator(): ChildProcess {
  const generator = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', 'gen', '--watch'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  generator.once('error', (error) =>
    process.stderr.write(`dispatch: cannot start dispatch gen --watch: ${error.message}\n`),
  )
  return generator
}

async function stopGenerator(generator: ChildProcess | undefined): Promise<void> {
  if (generator === undefined || generator.exitCode !== null || generator.signalCode !== null) return
  const exited = new Promise<void>((resolve) => generator.once('exit', () => resolve()))
  generator.kill('SIGTERM')
  await exited
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  return (signal && numbers[signal]) ?? 1
}
