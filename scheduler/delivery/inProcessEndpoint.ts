import type { ErrorClassifier, Routes } from 'dispatch-functions'
import { compileRoutes, createMessageRunner, type MessageRunner } from 'dispatch-functions/internal'

/** Where calls to the scheduler's in-process functions are addressed, unless told otherwise. */
export const DEFAULT_IN_PROCESS_ENDPOINT = 'http://in-process.localhost'

/** Options of the functions a scheduler runs in its own process (`routes`). */
export interface InProcessOptions {
  /**
   * The endpoint URL that names the in-process functions: calls addressed to it run here, calls to
   * any other endpoint go over HTTP. Default `http://in-process.localhost` (never resolved or
   * connected to). Give the clients of these functions this endpoint (`DISPATCH_ENDPOINT_URL`).
   */
  readonly endpoint?: string
  /** Statuses for error classes of your own, as the endpoint's `classifiers` option. */
  readonly classifiers?: readonly ErrorClassifier[]
  /** The largest coroutine journal kept, in bytes of JSON (default 8 MiB), as the endpoint's option. */
  readonly maxJournalBytes?: number
}

/**
 * Runs one RunRequest in this process and gives `settle` what an endpoint would answer (a RunResponse,
 * or a Connect error), once; never throws.
 */
export type InProcessRun = MessageRunner

/** Strips the trailing slashes that do not change which endpoint a URL names. */
export function endpointKey(url: string): string {
  return url.replace(/\/+$/, '')
}

/**
 * The endpoint core serving `routes` in this process: the same validation, run and answer as an
 * HTTP endpoint, given the RunRequest itself — no signature to check and no body to encode and
 * decode (nothing crosses a process boundary). Bad route schemas fail here, at start (DSP2203, DSP2204).
 */
export function inProcessEndpoint(routes: Routes, options: InProcessOptions = {}): { url: string; run: InProcessRun } {
  const url = endpointKey(options.endpoint ?? DEFAULT_IN_PROCESS_ENDPOINT)
  const classifiers = new Map<ErrorClassifier['error'], ErrorClassifier['status']>()
  for (const classifier of options.classifiers ?? []) classifiers.set(classifier.error, classifier.status)
  const run = createMessageRunner({
    routes: compileRoutes(routes),
    classifiers,
    endpoint: url,
    maxJournalBytes: options.maxJournalBytes,
  })
  return { url, run }
}
