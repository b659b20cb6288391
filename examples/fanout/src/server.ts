/**
 * The fan-out example's application: a Fastify server that serves the generated route table.
 * Under `dispatch run` it gets DISPATCH_ENDPOINT_URL (where to listen, and the URL requests must be
 * signed for) and DISPATCH_VERIFICATION_KEY from the environment; without them the plugin refuses
 * to start.
 */
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { routes } from './dispatch.gen/routes.gen.js'

/** Starts the app on the port of DISPATCH_ENDPOINT_URL (default 8000), bound to 127.0.0.1. */
export async function startServer(): Promise<FastifyInstance> {
  // The declined charge is on purpose: log errors only, so the output is the result.
  const app = Fastify({ logger: { level: 'error' } })
  await app.register(dispatchPlugin, { routes })
  const endpoint = new URL(process.env['DISPATCH_ENDPOINT_URL'] ?? 'http://127.0.0.1:8000')
  await app.listen({ host: '127.0.0.1', port: Number(endpoint.port || 80) })
  return app
}

if (import.meta.url === `file://${process.argv[1]}`) await startServer()
