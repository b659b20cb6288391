import type { Server } from 'node:http'
import { dspError } from '../../schemas/errors/dspError.js'
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type DispatchPluginOptions,
} from './dispatchPluginOptions.js'

// Node's own default: a server left with it was not configured by its owner.
const NODE_HEADERS_TIMEOUT_MS = 60_000

function milliseconds(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isInteger(value) || value <= 0) {
    throw dspError('DSP2209', `serverTimeouts.${name} must be a positive integer number of ms, not ${value}`, {
      hint: 'leave it out for the default, or pass serverTimeouts: false to leave the server as it is',
    })
  }
  return value
}

/**
 * Gives the HTTP server deadlines for slow clients, so a client that sends headers and then
 * nothing cannot hold a socket forever: Fastify's `requestTimeout` is 0 (no limit). The plugin
 * does not own the server, so defaults only replace the framework's defaults; values given in the
 * option always apply. Node enforces both deadlines on requests still being received, never on a
 * function that runs.
 */
export function applyServerTimeouts(server: Server, option: DispatchPluginOptions['serverTimeouts']): void {
  if (option === false) return
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw dspError('DSP2209', 'serverTimeouts must be an object or false', {
      hint: 'pass { requestTimeoutMs, headersTimeoutMs }, or leave it out for the defaults',
    })
  }
  const requestTimeoutMs = milliseconds('requestTimeoutMs', option?.requestTimeoutMs)
  const headersTimeoutMs = milliseconds('headersTimeoutMs', option?.headersTimeoutMs)
  // `server` is undefined under a custom serverFactory that returns something else: nothing to set.
  if (server === undefined || server === null || typeof server.requestTimeout !== 'number') return
  if (requestTimeoutMs !== undefined) server.requestTimeout = requestTimeoutMs
  else if (server.requestTimeout === 0) server.requestTimeout = DEFAULT_REQUEST_TIMEOUT_MS
  if (headersTimeoutMs !== undefined) server.headersTimeout = headersTimeoutMs
  else if (server.headersTimeout === NODE_HEADERS_TIMEOUT_MS) server.headersTimeout = DEFAULT_HEADERS_TIMEOUT_MS
  // Node's own rule (checked when it builds a server): the headers come within the request's deadline.
  if (server.requestTimeout > 0 && server.headersTimeout > server.requestTimeout) {
    server.headersTimeout = server.requestTimeout
  }
}
