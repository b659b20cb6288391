import type { IncomingMessage, ServerResponse } from 'node:http'
import { codedMessage } from '../../schemas/errors/codedMessage.js'
import { dspError } from '../../schemas/errors/dspError.js'
import { RUN_PATH } from '../../schemas/runUrl.js'
import { BATCH_HEADER, MAX_BATCH_CALLS } from '../endpoint/batchWire.js'
import { bodyTooLarge, createEndpoint } from '../endpoint/createEndpoint.js'
import { nodeEndpointCrypto } from '../endpoint/nodeEndpointCrypto.js'
import { closesConnection, LENGTH_MISMATCH, NOT_THE_RUN_ROUTE, refuseBeforeBody } from '../endpoint/refusals.js'
import { reportFailure } from '../endpoint/reportFailure.js'
import { answerPayload, connectError, type RunAnswer } from '../endpoint/runAnswer.js'
import { writeToOperator } from '../portable/environment.js'
import type { NodeHandlerOptions } from './nodeHandlerOptions.js'
import { readNodeBody } from './readNodeBody.js'

/** A request as Express and Koa hand it over: node's, with the path under the mount point in `url`. */
type FrameworkRequest = IncomingMessage & { readonly originalUrl?: string; readonly body?: unknown }

/** `(req, res)` for node:http, `(req, res, next)` for Express and Connect; resolves once answered. */
export type NodeHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>

const BATCH_ADVERTISED = String(MAX_BATCH_CALLS)

function send(response: ServerResponse, answer: RunAnswer, close: boolean): void {
  if (response.headersSent || response.writableEnded) return
  const { contentType, payload } = answerPayload(answer)
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    [BATCH_HEADER]: BATCH_ADVERTISED,
  }
  if (answer.lines === undefined) {
    headers['content-length'] = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  }
  // A client refused for who it is, or before its body was read, gets no kept-alive socket: the
  // unread body is not drained, and the client cannot try again on the same connection.
  if (close || closesConnection(answer)) headers['connection'] = 'close'
  response.writeHead(answer.statusCode, headers)
  if (answer.lines === undefined) response.end(payload)
  else void writeLines(response, answer.lines)
}

// A batch's answers, one write per line as each call finishes (chunked: no length is known).
async function writeLines(response: ServerResponse, lines: AsyncIterable<string>): Promise<void> {
  // Its headers went out before the server may have begun to close, promising keep-alive: a closing
  // server's connection is ended once the last line is out, or close() would wait on it.
  // Taken now: a response lets go of its socket once finished.
  const socket = response.socket
  response.once('finish', () => {
    if (closing(response.req)) socket?.end()
  })
  for await (const line of lines) {
    if (response.destroyed) return
    response.write(line)
  }
  response.end()
}

// A server that no longer listens is closing (`server.close()`): a kept-alive connection that was
// busy when close() began would stay open (the scheduler's pool keeps it) and hold the close up.
function closing(request: IncomingMessage): boolean {
  const server = (request.socket as { server?: { listening?: boolean } } | null)?.server
  return server?.listening === false
}

const withoutQuery = (url: string) => {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

// A body parser mounted before the endpoint (express.json(), koa-bodyparser) has read and parsed
// the body: its raw bytes, which the signature covers, are gone.
function bodyAlreadyRead(): RunAnswer {
  const error = dspError(
    'DSP2250',
    'the request body was read by another middleware (a body parser) before the dispatch handler, so its signed bytes are gone',
    {
      hint: 'mount the dispatch handler before body parsers (app.post(RUN_PATH, dispatch) ahead of app.use(express.json())), or give the parser only your own routes',
    },
  )
  writeToOperator(`dispatch: the endpoint failed to handle a request: ${error.format()}\n`)
  return connectError(
    500,
    'internal',
    codedMessage('DSP2250', 'the endpoint failed to handle the request (its log says why)'),
  )
}

/**
 * The Dispatch endpoint as a node:http request handler, which is also Express and Connect
 * middleware (`(req, res, next)`) and serves Koa through `ctx.req`/`ctx.res`. It answers
 * `POST …/dispatch.sdk.v1.FunctionService/Run` (under any mount point); other requests go to
 * `next` when there is one, else get 404. The same checks as the Fastify plugin, in the same order:
 * an unsigned request, one without a Content-Length or one over the body limit is refused before
 * its body is read; the signature is verified on the raw bytes for this endpoint's own URL,
 * within the window, once (replays refused); then the input is validated, the function runs, and
 * what it returns or throws becomes the RunResponse. Fails closed when created: without a
 * verification key (unless `verificationKey: false`), without this endpoint's URL while verifying,
 * or with an unusable key, URL or route schema. Mount it before any body parser.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createNodeHandler, RUN_PATH } from 'dispatch-functions/node'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * const app = express()
 * // DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL from the environment (`dispatch run` sets both)
 * app.post(RUN_PATH, createNodeHandler({ routes }))
 * app.listen(8000)
 * ```
 */
export function createNodeHandler(options: NodeHandlerOptions): NodeHandler {
  const { handle, bodyLimit, publicKey, refusedBeforeBody } = createEndpoint(
    options,
    'createNodeHandler',
    {
      onFailure: options.onFailure ?? reportFailure,
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    },
    nodeEndpointCrypto,
  )
  const verifying = publicKey !== undefined

  return async function dispatch(request, response, next) {
    const mounted = withoutQuery(request.url ?? '/')
    if (request.method !== 'POST' || !mounted.endsWith(RUN_PATH)) {
      if (next !== undefined) next()
      else send(response, NOT_THE_RUN_ROUTE, false)
      return
    }
    const headers = request.headers
    const length = refuseBeforeBody({
      verifying,
      signature: headers.signature,
      signatureInput: headers['signature-input'],
      contentLength: headers['content-length'],
      bodyLimit,
    })
    if (typeof length !== 'number') {
      refusedBeforeBody(length)
      return send(response, length, true)
    }

    let body: Uint8Array
    const given = (request as FrameworkRequest).body
    if (given instanceof Uint8Array) {
      // A raw-body parser (express.raw()) kept the bytes: they are the signed ones.
      if (given.length !== length) return send(response, LENGTH_MISMATCH, true)
      body = given
    } else if (request.readableEnded || request.readableDidRead) {
      return send(response, bodyAlreadyRead(), true)
    } else {
      const read = await readNodeBody(request, length, bodyLimit)
      if (read.kind === 'aborted') return
      if (read.kind === 'tooLarge') return send(response, bodyTooLarge(bodyLimit), true)
      if (read.kind === 'lengthMismatch') return send(response, LENGTH_MISMATCH, true)
      body = read.bytes
    }
    const answer = await handle({
      method: request.method,
      path: withoutQuery((request as FrameworkRequest).originalUrl ?? mounted),
      authority: headers.host ?? '',
      headers,
      body,
    })
    send(response, answer, closing(request))
  }
}
