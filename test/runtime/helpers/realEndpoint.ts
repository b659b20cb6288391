import { request as httpRequest } from 'node:http'
import { connect, type Socket } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { type DispatchPluginOptions, dispatchPlugin } from '../../../runtime/fastify/index.js'
import { signRequest } from '../../../runtime/signing/index.js'
import { RUN, testPrivateKey } from './endpointApp.js'
import { vectors } from './vectors.js'

/**
 * A real endpoint on 127.0.0.1 (port 0), verifying signatures by the RFC test key; its own URL is
 * the origin it listens on (plus `prefix`), unless the options say otherwise.
 */
export async function startSignedEndpoint(
  options: DispatchPluginOptions & { prefix?: string },
  server: FastifyServerOptions = {},
): Promise<{ app: FastifyInstance; origin: string; url: string }> {
  const app = Fastify(server)
  await app.register(dispatchPlugin, {
    verificationKey: vectors.key.public_pem,
    endpointUrl: () => `${app.listeningOrigin}${options.prefix ?? ''}`,
    ...options,
  })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, origin, url: `${origin}${options.prefix ?? ''}` }
}

/** The headers of a RunRequest body signed (with the RFC test key) for the endpoint at `endpointUrl`. */
export function signedFor(endpointUrl: string, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...signRequest({
      method: 'POST',
      url: `${endpointUrl.replace(/\/+$/, '')}${RUN}`,
      headers: { 'content-type': 'application/json' },
      body,
      privateKey: testPrivateKey,
    }),
  }
}

export interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/**
 * POSTs `body` to `url` with exactly `headers` (a `host` among them is sent as given, as a relay
 * forwarding a request would), over a fresh connection.
 */
export function postRaw(url: string, headers: Record<string, string>, body: string): Promise<RawAnswer> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
        agent: false,
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          text += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }))
      },
    )
    request.on('error', reject)
    request.end(body)
  })
}

/** A socket to `origin` that writes `text` and records what comes back and whether it was closed. */
export function rawSocket(
  origin: string,
  text: string,
): { socket: Socket; received: () => string; closed: () => boolean } {
  const target = new URL(origin)
  let received = ''
  let closed = false
  const socket = connect(Number(target.port), target.hostname, () => socket.write(text))
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    received += chunk
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
  })
  return { socket, received: () => received, closed: () => closed }
}

/** Polls `check` every 10 ms until it is true; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
