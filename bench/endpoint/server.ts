/**
 * One benchmark target in its own process; prints its port on stdout. Fastify: `endpoint` (the
 * plugin, signing and validation on), `endpoint-offthread` (the same, Ed25519 on the thread pool),
 * `endpoint-nosig` (no signature check) or `fastify` (a bare route that parses JSON and returns).
 * The other adapters, each beside its bare framework doing the same as the bare Fastify route:
 * `node` / `node-bare` (node:http), `express` / `express-bare` (Express 5), `hono` / `hono-bare`
 * (Hono on @hono/node-server, the fetch handler).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { createFetchHandler } from '../../runtime/fetch/index.js'
import { createNodeHandler } from '../../runtime/node/index.js'
import { RUN_PATH, routes } from './benchRoutes.js'

const mode = process.argv[2] ?? 'endpoint'

/** What every bare route answers: the RunResponse of the benchmark's function, built by hand. */
function bareAnswer(body: unknown) {
  const { input } = body as { input: { value: [string, { tags: string[] }] } }
  return {
    status: 'STATUS_OK',
    exit: {
      result: {
        output: {
          '@type': 'type.googleapis.com/google.protobuf.Value',
          value: { accepted: true, tags: input.value[1].tags.length },
        },
      },
    },
  }
}

let ownUrl = ''
const endpointUrl = () => ownUrl

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

async function start(): Promise<{ port: number; close: () => Promise<unknown> }> {
  switch (mode) {
    case 'node-bare':
    case 'node': {
      const dispatch = createNodeHandler({ routes, endpointUrl, onFailure: () => {} })
      const server = createServer((request, response) => {
        if (mode === 'node') return void dispatch(request, response)
        const chunks: Buffer[] = []
        request.on('data', (chunk: Buffer) => chunks.push(chunk))
        request.on('end', () => {
          const text = JSON.stringify(bareAnswer(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
          response.end(text)
        })
      })
      return { port: await listen(server), close: () => new Promise((resolve) => server.close(resolve)) }
    }
    case 'express-bare':
    case 'express': {
      const app = express()
      if (mode === 'express') app.post(RUN_PATH, createNodeHandler({ routes, endpointUrl, onFailure: () => {} }))
      else app.post(RUN_PATH, express.json(), (request, response) => void response.json(bareAnswer(request.body)))
      const server = app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      return {
        port: (server.address() as AddressInfo).port,
        close: () => new Promise((resolve) => server.close(resolve)),
      }
    }
    case 'hono-bare':
    case 'hono': {
      const app = new Hono()
      if (mode === 'hono') {
        const dispatch = createFetchHandler({ routes, endpointUrl, onFailure: () => {} })
        app.post(RUN_PATH, (c) => dispatch(c.req.raw))
      } else app.post(RUN_PATH, async (c) => c.json(bareAnswer(await c.req.json())))
      let server: Server | undefined
      const port = await new Promise<number>((resolve) => {
        server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(info.port)) as Server
      })
      return { port, close: () => new Promise((resolve) => server!.close(resolve)) }
    }
    default: {
      const app = Fastify({ logger: false })
      if (mode === 'fastify') app.post(RUN_PATH, async (request) => bareAnswer(request.body))
      else {
        await app.register(dispatchPlugin, {
          routes,
          verifyOffThread: mode === 'endpoint-offthread',
          endpointUrl: () => app.listeningOrigin,
          ...(mode === 'endpoint-nosig' ? { verificationKey: false as const } : {}),
        })
      }
      await app.listen({ host: '127.0.0.1', port: 0 })
      return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
    }
  }
}

const { port, close } = await start()
ownUrl = `http://127.0.0.1:${port}`
process.stdout.write(`${port}\n`)
process.on('SIGTERM', () => {
  void close().then(() => process.exit(0))
})
