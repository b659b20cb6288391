import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { serve } from '@hono/node-server'
import { DispatchError } from 'dispatch-functions'
import { dispatchPlugin } from 'dispatch-functions/fastify'
import { createFetchHandler, type FetchHandlerOptions } from 'dispatch-functions/fetch'
import { createNodeHandler, type NodeHandlerOptions } from 'dispatch-functions/node'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { RUN_PATH } from '../../../schemas/runUrl.js'

/** An endpoint's options as every adapter takes them (a key as text or false). */
export type AdapterOptions = Omit<NodeHandlerOptions, 'verificationKey'> & {
  readonly verificationKey?: string | false
  /** Where the endpoint is mounted (its own URL ends with it). */
  readonly prefix?: string
}

export interface RunningEndpoint {
  /** `http://127.0.0.1:port` */
  readonly origin: string
  /** The endpoint's own URL: the origin plus its prefix. */
  readonly url: string
  readonly close: () => Promise<void>
}

/** One way of serving the endpoint: every behaviour case runs against each. */
export interface Adapter {
  readonly name: string
  /** Starts a real server on 127.0.0.1, port 0; `endpointUrl` defaults to where it listens (plus the prefix). */
  readonly start: (options: AdapterOptions) => Promise<RunningEndpoint>
  /** The DispatchError that creating the endpoint with `options` fails with (fail-closed checks). */
  readonly creationError: (options: AdapterOptions) => Promise<DispatchError>
}

const quiet = { onFailure: () => {} }

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

function thrown(create: () => unknown): DispatchError {
  try {
    create()
  } catch (error) {
    if (error instanceof DispatchError) return error
    throw new Error(`creation did not fail with a DispatchError: ${error}`)
  }
  throw new Error('creation did not fail')
}

/** Runs `start` with `endpointUrl` defaulting to the origin it listens on (known only once it listens). */
async function withOwnUrl(
  options: AdapterOptions,
  start: (options: AdapterOptions) => Promise<{ origin: string; close: () => Promise<void> }>,
): Promise<RunningEndpoint> {
  let origin: string | undefined
  const prefix = options.prefix ?? ''
  const running = await start({
    endpointUrl: () => {
      if (origin === undefined) throw new Error('not listening yet')
      return origin + prefix
    },
    ...options,
  })
  origin = running.origin
  return { origin: running.origin, url: running.origin + prefix, close: running.close }
}

/** A node:http server that hands each request to a fetch handler through Node's own Request and Response. */
export function serveFetch(handler: (request: Request) => Promise<Response>): Server {
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers }
    if (hasBody) {
      init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
      init.duplex = 'half'
    }
    const response = await handler(new Request(`http://${req.headers.host}${req.url}`, init))
    const body = Buffer.from(await response.arrayBuffer())
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.end(body)
  })
}

export const fastifyAdapter: Adapter = {
  name: 'Fastify',
  start: (options) =>
    withOwnUrl(options, async ({ prefix, onFailure: _, ...rest }) => {
      const app = Fastify()
      await app.register(dispatchPlugin, { ...rest, ...(prefix === undefined ? {} : { prefix }) })
      const origin = await app.listen({ host: '127.0.0.1', port: 0 })
      return { origin, close: () => app.close() }
    }),
  creationError: async ({ prefix: _, onFailure: __, ...options }) => {
    const app = Fastify()
    try {
      const error = await app.register(dispatchPlugin, options).then(
        () => undefined,
        (e: unknown) => e,
      )
      if (!(error instanceof DispatchError)) throw new Error(`registration did not fail with a DispatchError: ${error}`)
      return error
    } finally {
      await app.close()
    }
  },
}

export const nodeAdapter: Adapter = {
  name: 'node:http',
  start: (options) =>
    withOwnUrl(options, async ({ prefix: _, ...rest }) => {
      const server = createServer(createNodeHandler({ ...quiet, ...rest }))
      return { origin: await listen(server), close: () => closeServer(server) }
    }),
  creationError: async ({ prefix: _, ...options }) => thrown(() => createNodeHandler(options)),
}

export const expressAdapter: Adapter = {
  name: 'Express',
  start: (options) =>
    withOwnUrl(options, async ({ prefix, ...rest }) => {
      const app = express()
      // Mounted ahead of the application's own body parser, as docs/endpoint.md says.
      app.post(`${prefix ?? ''}${RUN_PATH}`, createNodeHandler({ ...quiet, ...rest }))
      app.use(express.json())
      app.post('/echo', (req, res) => {
        res.json({ parsed: req.body })
      })
      const server = app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      return {
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => closeServer(server),
      }
    }),
  creationError: async ({ prefix: _, ...options }) => thrown(() => createNodeHandler(options)),
}

function fetchOptions({ prefix: _, ...options }: AdapterOptions): FetchHandlerOptions {
  return { ...quiet, ...options }
}

export const honoAdapter: Adapter = {
  name: 'Hono (@hono/node-server)',
  start: (options) =>
    withOwnUrl(options, async (given) => {
      const dispatch = createFetchHandler(fetchOptions(given))
      const app = new Hono()
      app.post(`${given.prefix ?? ''}${RUN_PATH}`, (c) => dispatch(c.req.raw))
      app.post('/echo', async (c) => c.json({ parsed: await c.req.json() }))
      let server: Server | undefined
      const origin = await new Promise<string>((resolve) => {
        server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
          resolve(`http://127.0.0.1:${info.port}`),
        ) as Server
      })
      return { origin, close: () => closeServer(server!) }
    }),
  creationError: async (options) => thrown(() => createFetchHandler(fetchOptions(options))),
}

export const fetchAdapter: Adapter = {
  name: 'fetch handler (node:http with Request/Response)',
  start: (options) =>
    withOwnUrl(options, async (given) => {
      const server = serveFetch(createFetchHandler(fetchOptions(given)))
      return { origin: await listen(server), close: () => closeServer(server) }
    }),
  creationError: async (options) => thrown(() => createFetchHandler(fetchOptions(options))),
}

/** Every adapter the shared behaviour suite runs against. */
export const ADAPTERS: readonly Adapter[] = [fastifyAdapter, nodeAdapter, expressAdapter, honoAdapter, fetchAdapter]
