/**
 * The quickstart application: a Fastify server that serves the generated route table. Under
 * `dispatch run` it gets PORT (a free port, where the scheduler calls it), DISPATCH_ENDPOINT_URL (the
 * URL requests must be signed for) and DISPATCH_VERIFICATION_KEY (so only the scheduler's signed
 * requests run) from the environment; without the last two the plugin refuses to start.
 */
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { routes } from './dispatch.gen/routes.gen.js'

/** Starts the app on PORT (default 8000), bound to 127.0.0.1. */
export async function startServer(): Promise<FastifyInstance> {
  // The demo's failures are on purpose: log errors only, so its output is the summary.
  const app = Fastify({ logger: { level: 'error' } })
  await app.register(dispatchPlugin, { routes })
  await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 8000) })
  return app
}

if (import.meta.url === `file://${process.argv[1]}`) await startServer()
