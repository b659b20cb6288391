/**
 * The flow-control example's application: a Fastify server that serves the generated route table.
 * Under `dispatch run` it gets PORT, DISPATCH_ENDPOINT_URL and DISPATCH_VERIFICATION_KEY from the
 * environment; without the last two the plugin refuses to start.
 */
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { routes } from './dispatch.gen/routes.gen.js'

/** Starts the app on PORT (default 8000), bound to 127.0.0.1. */
export async function startServer(): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: 'error' } })
  await app.register(dispatchPlugin, { routes })
  await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 8000) })
  return app
}

if (import.meta.url === `file://${process.argv[1]}`) await startServer()
