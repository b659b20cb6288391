import type { Command } from 'commander'
import {
  ALLOW_ENDPOINT_HELP,
  BATCH_HELP,
  collectAllowEndpoint,
  collectProtoEndpoint,
  PROTO_ENDPOINT_HELP,
  parseBatchFlag,
  parsePort,
  parseRetentionFlag,
} from '../options.js'
import { addPostgresFlags, describeStore, type PostgresFlags, postgresOption } from '../postgresFlag.js'
import { schedulerListenError } from '../schedulerListenError.js'
import { readSchedulesFile } from '../schedulesFile.js'

interface SchedulerFlags extends PostgresFlags {
  db: string
  host: string
  port: number
  allowEndpoint?: string[]
  protoEndpoint?: string[]
  retention?: string | false
  batch?: number
  metricsPort?: number
  metricsHost: string
  ui?: boolean
  schedules?: string
}

/** Registers `dispatch scheduler`: the scheduler alone, for production, configured by flags and DISPATCH_* env. */
export function registerScheduler(program: Command): void {
  const command = program
    .command('scheduler')
    .description('run the scheduler alone (configured by flags and DISPATCH_API_KEY, DISPATCH_SIGNING_KEY)')
    .option('--db <path>', 'SQLite database file (keys are kept beside it)', '.dispatch/dispatch.db')
    .option('--host <host>', 'address to bind the API to', '127.0.0.1')
    .option('--port <n>', 'port of the API', parsePort, 4001)
    .option('--allow-endpoint <pattern>', ALLOW_ENDPOINT_HELP, collectAllowEndpoint)
    .option('--proto-endpoint <pattern>', PROTO_ENDPOINT_HELP, collectProtoEndpoint)
    .option('--batch <n>', BATCH_HELP, parseBatchFlag)
    .option(
      '--retention <duration>',
      'delete finished calls this long after they finished (default 7d; 0 or off: keep them)',
      parseRetentionFlag,
    )
    .option(
      '--metrics-port <n>',
      'also serve Prometheus metrics on this port, without the API key (default: only GET /metrics on the API, with the key)',
      parsePort,
    )
    .option('--metrics-host <host>', 'address to bind the metrics port to', '127.0.0.1')
    .option('--ui', 'serve the web dashboard on the API under /ui/ (log in with the API key)')
    .option(
      '--schedules <file>',
      'run the cron schedules of this file ({ "schedules": [{ "function", "cron", "endpoint", ... }] }; docs/flow-control.md)',
    )
  addPostgresFlags(command).action(async (flags: SchedulerFlags) => {
    const { startScheduler } = await import('../../scheduler/index.js')
    const postgres = postgresOption(flags)
    const schedules = flags.schedules === undefined ? [] : readSchedulesFile(flags.schedules, undefined)
    const scheduler = await startScheduler({
      dbPath: flags.db,
      host: flags.host,
      port: flags.port,
      logger: true,
      ...(flags.retention !== undefined ? { retention: flags.retention as `${number}d` | false } : {}),
      ...(postgres ? { postgres } : {}),
      ...(flags.allowEndpoint ? { allowEndpoints: flags.allowEndpoint } : {}),
      ...(flags.protoEndpoint ? { protoEndpoints: flags.protoEndpoint } : {}),
      ...(flags.batch !== undefined ? { batchDelivery: { maxCalls: flags.batch } } : {}),
      ...(flags.metricsPort !== undefined ? { metrics: { port: flags.metricsPort, host: flags.metricsHost } } : {}),
      ...(flags.ui === true ? { dashboard: true } : {}),
      ...(schedules.length > 0 ? { schedules } : {}),
    }).catch((error: unknown) => {
      throw schedulerListenError(error, flags.host, flags.port)
    })
    process.stderr.write(
      `dispatch: scheduler listening on ${scheduler.url} (${describeStore(postgres, flags.db)})\n` +
        `dispatch: Prometheus metrics on ${scheduler.metricsUrl}${flags.metricsPort === undefined ? ' (Authorization: Bearer <DISPATCH_API_KEY>)' : ''}\n` +
        (scheduler.dashboardUrl === undefined
          ? ''
          : `dispatch: dashboard on ${scheduler.dashboardUrl} (log in with the API key)\n`),
    )
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await scheduler.close()
  })
}
