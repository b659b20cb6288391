/**
 * The Hono example's application: a Hono app on @hono/node-server that serves the generated route
 * table with the fetch handler, next to a route of its own. The same `dispatch` works unchanged in a
 * Bun, Deno or Cloudflare Workers app. Under `dispatch run` it gets PORT (where the scheduler calls
 * it), DISPATCH_ENDPOINT_URL (the URL requests must be signed for) and DISPATCH_VERIFICATION_KEY
 * from the environment; without the last two the handler refuses to start.
 */
import { type ServerType, serve } from '@hono/node-server'
import { createFetchHandler, RUN_PATH } from 'dispatch-functions/fetch'
import { Hono } from 'hono'
import { routes } from './dispatch.gen/routes.gen.js'

/** Starts the app on PORT (default 8000), bound to 127.0.0.1. */
export async function startServer(): Promise<ServerType> {
  const dispatch = createFetchHandler({ routes })
  const app = new Hono()
  app.post(RUN_PATH, (c) => dispatch(c.req.raw))
  app.get('/health', (c) => c.json({ ok: true }))
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env['PORT'] ?? 8000) }, () =>
      resolve(server),
    )
  })
}

if (import.meta.url === `file://${process.argv[1]}`) await startServer()
