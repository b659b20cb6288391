/**
 * @module
 * dispatch-functions/node: the endpoint the scheduler calls, as a node:http `(req, res)` handler —
 * also Express and Connect middleware, and Koa's through `ctx.req`/`ctx.res`. It verifies signed
 * requests, validates inputs against the route table, runs functions with their call context and
 * maps what they throw to statuses.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createNodeHandler } from 'dispatch-functions/node'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * // DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL (options override them); `dispatch run` sets both
 * createServer(createNodeHandler({ routes })).listen(8000)
 * ```
 */

export { RUN_PATH, runUrl } from '../../schemas/runUrl.js'
export type { EndpointOptions } from '../endpoint/endpointOptions.js'
export { DEFAULT_BODY_LIMIT } from '../endpoint/endpointOptions.js'
export type { MetricSample, MetricSnapshot, MetricsRegistry, RegistryMetric } from '../metrics/metricsRegistry.js'
export { createNodeHandler, type NodeHandler } from './createNodeHandler.js'
export type { NodeHandlerOptions } from './nodeHandlerOptions.js'
