import type { Command } from 'commander'
import { readRunState } from '../runState.js'

/** Quotes a value for a POSIX shell: single quotes, each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/**
 * Registers `dispatch env`: `export` lines for the variables a script or another terminal needs to
 * reach the `dispatch run` of this folder, for `eval "$(npx dispatch env)"`.
 */
export function registerEnv(program: Command): void {
  program
    .command('env')
    .description(
      'print export lines (DISPATCH_API_URL, DISPATCH_API_KEY, DISPATCH_ENDPOINT_URL) for the dispatch run of this folder: eval "$(npx dispatch env)"',
    )
    .option('--db <path>', 'the database dispatch run uses', '.dispatch/dispatch.db')
    .action((flags: { db: string }) => {
      const state = readRunState(flags.db)
      const lines = [
        ['DISPATCH_API_URL', state.apiUrl],
        ['DISPATCH_API_KEY', state.apiKey],
        ['DISPATCH_ENDPOINT_URL', state.endpointUrl],
      ].map(([name, value]) => `export ${name}=${shellQuote(value as string)}`)
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}
