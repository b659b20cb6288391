import type { Command } from 'commander'
import { parseHttpUrl } from './options.js'
import { secretFromFlags } from './secretFlag.js'

/** The flags of every command that talks to a running scheduler's API. */
export interface ApiFlags {
  apiUrl?: string
  apiKey?: string
  apiKeyFile?: string
  json?: boolean
}

const API_KEY_SECRET = { flag: '--api-key', fileFlag: '--api-key-file', envVar: 'DISPATCH_API_KEY' } as const

/** A subcommand of `parent` taking the API's connection flags and --json, before or after its arguments. */
export function apiSubcommand(parent: Command, name: string): Command {
  return parent
    .command(name)
    .option('--api-url <url>', 'the scheduler API (default: DISPATCH_API_URL)', parseHttpUrl)
    .option('--api-key <key>', 'the API key (default: DISPATCH_API_KEY; on the command line it shows in ps)')
    .option('--api-key-file <path>', 'read the API key from this file (owner-only, e.g. chmod 600)')
    .option('--json', 'print JSON for scripts')
}

/**
 * The command's flags, and the client options they give (URL, and the key from the flag, the file
 * or the environment); what is not given is left to the client's own defaults (DISPATCH_API_URL).
 */
export function apiClientOptions(command: Command): [{ apiUrl?: string; apiKey?: string }, ApiFlags] {
  const flags = command.optsWithGlobals<ApiFlags>()
  const options: { apiUrl?: string; apiKey?: string } = {}
  if (flags.apiUrl !== undefined) options.apiUrl = flags.apiUrl
  const apiKey = secretFromFlags(API_KEY_SECRET, flags.apiKey, flags.apiKeyFile)
  if (apiKey !== undefined) options.apiKey = apiKey
  return [options, flags]
}
