import type { KeyObject } from 'node:crypto'
import type { Routes } from '../route.js'
import type { ErrorClassifier } from '../status/errorClassifier.js'

/** The path the scheduler POSTs to (Connect unary: `/<service>/<method>`). */
export const RUN_PATH = '/dispatch.sdk.v1.FunctionService/Run'

/** The default body limit: 16 MiB (PROTOCOL.md). */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024

/**
 * Options of {@link dispatchPlugin}. Each one overrides its `DISPATCH_*` environment variable; Fastify's
 * own `prefix` register option mounts the endpoint under a path.
 */
export interface DispatchPluginOptions {
  /** The route table (`routes.gen.ts`, or built with `defineRoutes`). */
  readonly routes: Routes
  /**
   * The scheduler's public key (default `DISPATCH_VERIFICATION_KEY`): PEM SPKI, PEM with literal
   * `\n`, base64 of the raw 32 bytes, or a KeyObject. `false` accepts unsigned requests even when the
   * variable is set (tests, trusted networks).
   */
  readonly verificationKey?: string | KeyObject | false
  /**
   * Where tail calls and a coroutine's child calls go when their client names no endpoint (default
   * `DISPATCH_ENDPOINT_URL`; without either, child calls go to the endpoint that ran the parent).
   */
  readonly endpoint?: string
  /** The largest request body accepted, in bytes (default 16 MiB). */
  readonly bodyLimit?: number
  /** Statuses for error classes of your own or of libraries; they win over the default table. */
  readonly classifiers?: readonly ErrorClassifier[]
  /**
   * The largest journal a durable coroutine may keep, in bytes of JSON (default 8 MiB, which keeps
   * PollResults well inside the 16 MiB request limit). Over it, the call fails with DSP2231.
   */
  readonly maxJournalBytes?: number
  /** Check Ed25519 signatures on libuv's thread pool instead of the event loop (default false). */
  readonly verifyOffThread?: boolean
}
