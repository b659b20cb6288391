import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { startLiveSummary } from '../liveSummary.js'
import { parseHttpUrl, parsePort, parseRetentionFlag } from '../options.js'
import { addPostgresFlags, describeStore, type PostgresFlags, postgresOption } from '../postgresFlag.js'
import { UsageError } from '../usageError.js'

interface RunFlags extends PostgresFlags {
  db: string
  port: number
  endpoint?: string
  retention?: string | false
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Registers `dispatch run`: the embedded scheduler plus the user's application as a child
 * process, wired together through DISPATCH_* variables. Exits with the child's code.
 */
export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('start the embedded scheduler, then run <command> (your app) with DISPATCH_* variables set')
    .argument('<command...>', 'the command that starts your application, after --')
    .option('--db <path>', 'SQLite database file (keys are kept beside it)', '.dispatch/dispatch.db')
    .option('--port <n>', 'port of the scheduler API (0: any free port)', parsePort, 4001)
    .option(
      '--endpoint <url>',
      'URL at which the scheduler reaches your app (default: DISPATCH_ENDPOINT_URL or http://127.0.0.1:8000)',
      parseHttpUrl,
    )
    .option(
      '--retention <duration>',
      'delete finished calls this long after they finished (default 7d; 0 or off: keep them)',
      parseRetentionFlag,
    )
    .passThroughOptions()
  addPostgresFlags(command).action(async (command: string[], flags: RunFlags) => {
    process.exitCode = await run(command, flags)
  })
}

async function run(command: string[], flags: RunFlags): Promise<number> {
  const [file, ...args] = command
  if (file === undefined)
    throw new UsageError('DSP4001', 'dispatch run needs a command', 'dispatch run -- node server.js')
  const { startScheduler } = await import('../../scheduler/index.js')
  const postgres = postgresOption(flags)
  const scheduler = await startScheduler({
    dbPath: flags.db,
    port: flags.port,
    ...(postgres ? { postgres } : {}),
    ...(flags.retention !== undefined ? { retention: flags.retention as `${number}d` | false } : {}),
  })
  const endpoint = flags.endpoint ?? (process.env['DISPATCH_ENDPOINT_URL'] || 'http://127.0.0.1:8000')
  process.stderr.write(
    `dispatch: scheduler on ${scheduler.url}, ${describeStore(postgres, flags.db)}, calling your app at ${endpoint}\n`,
  )

  const child = spawn(file, args, {
    stdio: 'inherit',
    env: {
      ...process.env,
      DISPATCH_API_URL: scheduler.url,
      DISPATCH_API_KEY: scheduler.apiKey,
      DISPATCH_ENDPOINT_URL: endpoint,
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
          ? `dispatch: DSP4002: command not found: ${file}\n  hint: check the command after --, e.g. dispatch run -- node server.js\n`
          : `dispatch: DSP4003: cannot start ${file}: ${error.message}\n`,
      )
      resolve(127)
    })
    child.once('exit', (status, signal) => resolve(status ?? 128 + signalNumber(signal)))
  })
  for (const [signal, handler] of handlers) process.off(signal, handler)
  await stopSummary()
  await scheduler.close()
  return code
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  return (signal && numbers[signal]) ?? 1
}
