import type { KeyObject } from 'node:crypto'
import type { MetricsRegistry } from '../metrics/metricsRegistry.js'
import type { Routes } from '../route.js'
import type { ErrorClassifier } from '../status/errorClassifier.js'

/** The default body limit: 16 MiB (docs/protocol.md §17). */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024

/**
 * Options of an endpoint, whichever framework serves it (the Fastify plugin adds its server's
 * deadlines). Each one overrides its `DISPATCH_*` environment variable.
 */
export interface EndpointOptions<Key = KeyObject> {
  /** The route table (`routes.gen.ts`, or built with `defineRoutes`). */
  readonly routes: Routes
  /**
   * The scheduler's public key (default `DISPATCH_VERIFICATION_KEY`): PEM SPKI, PEM with literal
   * `\n`, base64 of the raw 32 bytes, or a key object (a KeyObject; for the fetch adapter, a Web
   * Crypto CryptoKey too). Required: without a key (or with an empty
   * variable) registration fails with DSP2208. `false` turns verification off and accepts unsigned
   * requests even when the variable is set (tests, trusted networks); a warning goes to stderr.
   */
  readonly verificationKey?: string | Key | false
  /**
   * This endpoint's own public URL, the one the scheduler is given for it (default
   * `DISPATCH_ENDPOINT_URL`, which `dispatch run` sets), with its path prefix if it is mounted under
   * one. A signature must cover this URL's authority and path, so a request signed for another
   * endpoint never runs here; with verification on, registration fails with DSP2206 without it.
   * A function is called at the first request, for a URL known only once the server listens
   * (`() => app.listeningOrigin` on port 0).
   */
  readonly endpointUrl?: string | (() => string)
  /**
   * Where tail calls and a coroutine's child calls go when their client names no endpoint (default
   * `endpointUrl` when it is a string, else `DISPATCH_ENDPOINT_URL`; without either, child calls go
   * to the endpoint that ran the parent).
   */
  readonly endpoint?: string
  /**
   * How many signatures of accepted requests are remembered to refuse replays within the five-minute
   * signature window (default 100 000, about 15 MB at most); `false` turns the check off.
   */
  readonly replayCache?: number | false
  /** The largest request body accepted, in bytes (default 16 MiB). */
  readonly bodyLimit?: number
  /** Statuses for error classes of your own or of libraries; they win over the default table. */
  readonly classifiers?: readonly ErrorClassifier[]
  /**
   * The largest journal a durable coroutine may keep, in bytes of JSON (default 8 MiB, which keeps
   * PollResults well inside the 16 MiB request limit). Over it, the call fails with DSP2231.
   */
  readonly maxJournalBytes?: number
  /**
   * Check Ed25519 signatures on libuv's thread pool instead of the event loop (default false; the
   * fetch adapter's Web Crypto checks are asynchronous anyway).
   */
  readonly verifyOffThread?: boolean
  /**
   * A Prometheus registry to count this endpoint's work in (default none: nothing is counted): a
   * prom-client `Registry`, or any object with its `registerMetric`. Runs by function and status,
   * their duration, runs in flight, validation failures and signature refusals, as
   * `dispatch_endpoint_*` (docs/observability.md); you serve the registry where you want it.
   * Endpoints given the same registry share their series.
   */
  readonly metrics?: MetricsRegistry
}
