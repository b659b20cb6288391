import { dspError } from '../../schemas/errors/dspError.js'

/** Where a client sends calls and which service the scheduler is to call. Unset fields come from the environment. */
export interface ClientOptions {
  /** The URL at which the scheduler reaches the service that owns the functions (`DISPATCH_ENDPOINT_URL`). */
  endpoint?: string
  /** The scheduler's API base URL (`DISPATCH_API_URL`). */
  apiUrl?: string
  /** The bearer key of the scheduler's API (`DISPATCH_API_KEY`). */
  apiKey?: string
}

export interface ResolvedClientConfig {
  endpoint: string
  apiUrl: string
  apiKey: string
}

/** The way out of a missing or wrong `DISPATCH_*` variable, named by every client error's hint. */
export const ENV_FIX = 'eval "$(npx dispatch env)" in the folder where dispatch run runs'

function pick(given: string | undefined, variable: string, option: string): string {
  const value = given ?? process.env[variable]
  if (value === undefined || value === '') {
    throw dspError('DSP2001', `${variable} is not set`, {
      hint: `run your program under npx dispatch run -- <command>, or in a shell or script first: ${ENV_FIX} (in code: createDispatchClient({ ${option} }))`,
    })
  }
  return value
}

/** Resolves a client's configuration at call time, so a process can set its environment after import. */
export function resolveClientConfig(options: ClientOptions): ResolvedClientConfig {
  return {
    endpoint: pick(options.endpoint, 'DISPATCH_ENDPOINT_URL', 'endpoint'),
    apiUrl: pick(options.apiUrl, 'DISPATCH_API_URL', 'apiUrl').replace(/\/+$/, ''),
    apiKey: pick(options.apiKey, 'DISPATCH_API_KEY', 'apiKey'),
  }
}
