/**
 * @module
 * dispatch-functions/fastify: the endpoint the scheduler calls, as a Fastify plugin. It verifies
 * signed requests, validates inputs against the route table, runs functions with their call
 * context and maps what they throw to statuses.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { dispatchPlugin } from 'dispatch-functions/fastify'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * const app = Fastify({ logger: true })
 * // DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL (options override them); `dispatch run` sets both
 * await app.register(dispatchPlugin, { routes })
 * await app.listen({ port: 8000 })
 * ```
 */

export { RUN_PATH, runUrl } from '../../schemas/runUrl.js'
export type { EndpointOptions } from '../endpoint/endpointOptions.js'
export { DEFAULT_BODY_LIMIT } from '../endpoint/endpointOptions.js'
export type { MetricSample, MetricSnapshot, MetricsRegistry, RegistryMetric } from '../metrics/metricsRegistry.js'
export { Dispatch } from './dispatchAlias.js'
export { dispatchPlugin } from './dispatchPlugin.js'
export type { DispatchPluginOptions, ServerTimeouts } from './dispatchPluginOptions.js'
export { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './dispatchPluginOptions.js'
