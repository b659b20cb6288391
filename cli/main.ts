/**
 * The `dispatch` command: `init`, `gen`, `run`, `scheduler`, `calls`, `env`. Each subcommand lives in
 * cli/commands/ and loads its heavy dependencies (ts-morph, SQLite) only when it runs.
 * Usage errors exit 2, failures 1, and errors print their code, message and hint — never a stack.
 */
import { Command, CommanderError } from 'commander'
import { DispatchError } from 'dispatch-functions/protocol'
import { registerCalls } from './commands/calls.js'
import { registerEnv } from './commands/env.js'
import { registerGen } from './commands/gen.js'
import { registerInit } from './commands/init.js'
import { registerRun } from './commands/run.js'
import { registerScheduler } from './commands/scheduler.js'
import { registerSchedules } from './commands/schedules.js'
import { UsageError } from './usageError.js'
import { toolsVersion } from './version.js'

const program = new Command('dispatch')
  .description('durable, typed function dispatch: generate clients, run the scheduler, inspect calls')
  .version(toolsVersion())
  .showHelpAfterError('(run with --help for usage)')
  .enablePositionalOptions()
  .exitOverride()

registerInit(program)
registerGen(program)
registerRun(program)
registerScheduler(program)
registerCalls(program)
registerSchedules(program)
registerEnv(program)

try {
  await program.parseAsync(process.argv)
} catch (error) {
  process.exitCode = exitCodeOf(error)
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version "errors" are successful exits; every other commander error is a usage error.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
      ? 0
      : 2
  }
  if (error instanceof UsageError) {
    process.stderr.write(`dispatch: ${error.format()}\n`)
    return 2
  }
  if (error instanceof DispatchError) {
    process.stderr.write(`dispatch: ${error.format()}\n`)
    return 1
  }
  process.stderr.write(`dispatch: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`)
  return 1
}
