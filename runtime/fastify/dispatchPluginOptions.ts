import type { EndpointOptions } from '../endpoint/endpointOptions.js'

/**
 * Options of {@link dispatchPlugin}: the endpoint's options plus the HTTP server's deadlines. Each one
 * overrides its `DISPATCH_*` environment variable; Fastify's own `prefix` register option mounts the
 * endpoint under a path.
 */
export interface DispatchPluginOptions extends EndpointOptions {
  /**
   * Deadlines for slow clients, set on the HTTP server (`fastify.server`) where it still has the
   * defaults of Fastify and Node: the whole request (headers and body) within `requestTimeoutMs`
   * (default 60 s), its headers within `headersTimeoutMs` (default 15 s). A running function is
   * not cut. Values given here always apply; `false` leaves the server alone.
   */
  readonly serverTimeouts?: ServerTimeouts | false
}

/** Deadlines for receiving a request (see {@link DispatchPluginOptions.serverTimeouts}). */
export interface ServerTimeouts {
  /** The whole request, headers and body, must arrive within this many ms (default 60 000). */
  readonly requestTimeoutMs?: number
  /** The request headers must arrive within this many ms (default 15 000). */
  readonly headersTimeoutMs?: number
}

/** Defaults of {@link ServerTimeouts}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000
export const DEFAULT_HEADERS_TIMEOUT_MS = 15_000
