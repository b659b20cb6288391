/**
 * @module
 * dispatch-functions/fetch: the endpoint the scheduler calls, as a web-standard
 * `(request: Request) => Promise<Response>` handler, for Hono, Next.js route handlers, Bun, Deno
 * and Cloudflare Workers. It verifies signed requests with Web Crypto, validates inputs against the
 * route table, runs functions with their call context and maps what they throw to statuses.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { createFetchHandler, RUN_PATH } from 'dispatch-functions/fetch'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * const dispatch = createFetchHandler({ routes })
 * const app = new Hono()
 * app.post(RUN_PATH, (c) => dispatch(c.req.raw))
 * ```
 */

export { RUN_PATH, runUrl } from '../../schemas/runUrl.js'
export type { EndpointOptions } from '../endpoint/endpointOptions.js'
export { DEFAULT_BODY_LIMIT } from '../endpoint/endpointOptions.js'
export type { MetricSample, MetricSnapshot, MetricsRegistry, RegistryMetric } from '../metrics/metricsRegistry.js'
export { createFetchHandler } from './createFetchHandler.js'
export type { ExportablePublicKey, FetchHandlerOptions } from './fetchHandlerOptions.js'
