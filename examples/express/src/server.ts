/**
 * The Express example's application: an Express 5 app that serves the generated route table with
 * the node:http handler, next to a route of its own. Under `dispatch run` it gets PORT (where the
 * scheduler calls it), DISPATCH_ENDPOINT_URL (the URL requests must be signed for) and
 * DISPATCH_VERIFICATION_KEY from the environment; without the last two the handler refuses to start.
 */
import type { Server } from 'node:http'
import { createNodeHandler, RUN_PATH } from 'dispatch-functions/node'
import express from 'express'
import { routes } from './dispatch.gen/routes.gen.js'

/** Starts the app on PORT (default 8000), bound to 127.0.0.1. */
export async function startServer(): Promise<Server> {
  const app = express()
  // Before any body parser: the handler reads the raw bytes, which the signature covers.
  app.post(RUN_PATH, createNodeHandler({ routes }))
  app.use(express.json())
  app.get('/health', (_request, response) => {
    response.json({ ok: true })
  })
  const server = app.listen(Number(process.env['PORT'] ?? 8000), '127.0.0.1')
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject))
  return server
}

if (import.meta.url === `file://${process.argv[1]}`) await startServer()
