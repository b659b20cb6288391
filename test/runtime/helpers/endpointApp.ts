import type { KeyObject } from 'node:crypto'
import { Writable } from 'node:stream'
import { type DispatchPluginOptions, dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { parsePrivateKey, signRequest } from '../../../runtime/signing/index.js'
import { vectors } from './vectors.js'

export const testPrivateKey: KeyObject = parsePrivateKey(vectors.key.private_pem, 'TEST')
export const HOST = 'app.test:8000'
export const RUN = '/dispatch.sdk.v1.FunctionService/Run'

/** A Fastify app with the plugin registered, logging warnings into `logs`. */
export async function makeApp(
  options: DispatchPluginOptions & { prefix?: string },
): Promise<{ app: FastifyInstance; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const app = Fastify({ logger: { level: 'warn', stream } })
  // Requests are signed for http://HOST (plus the prefix): that is this endpoint's own URL.
  await app.register(dispatchPlugin, { endpointUrl: `http://${HOST}${options.prefix ?? ''}`, ...options })
  return { app, logs }
}

export interface SendOptions {
  path?: string
  /** Headers to send (a content type given here is also the one signed). */
  headers?: Record<string, string | undefined>
  /** False: send unsigned. */
  sign?: boolean
  created?: number
}

/** POSTs a RunRequest (object or raw text) signed with the RFC test key, through `app.inject`. */
export async function send(
  app: FastifyInstance,
  message: unknown,
  options: SendOptions = {},
): Promise<LightMyRequestResponse> {
  const body = typeof message === 'string' ? message : JSON.stringify(message)
  const path = options.path ?? RUN
  const contentType = options.headers?.['content-type'] ?? 'application/json'
  const headers: Record<string, string> = { host: HOST, 'content-type': contentType }
  if (options.sign !== false) {
    Object.assign(
      headers,
      signRequest({
        method: 'POST',
        url: `http://${HOST}${path}`,
        headers: { 'content-type': contentType },
        body,
        privateKey: testPrivateKey,
        ...(options.created === undefined ? {} : { created: options.created }),
      }),
    )
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name]
    else headers[name] = value
  }
  return app.inject({ method: 'POST', url: path, headers, payload: body })
}

export function runRequest(fn: string, args: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { function: fn, input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: args }, ...extra }
}
