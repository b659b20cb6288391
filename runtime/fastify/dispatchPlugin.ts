import { Readable } from 'node:stream'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { RUN_PATH } from '../../schemas/runUrl.js'
import { BATCH_HEADER, MAX_BATCH_CALLS } from '../endpoint/batchWire.js'
import { bodyTooLarge, createEndpoint, MISSING_LENGTH, UNSIGNED } from '../endpoint/createEndpoint.js'
import { nodeEndpointCrypto } from '../endpoint/nodeEndpointCrypto.js'
import { answerPayload, connectError, type RunAnswer } from '../endpoint/runAnswer.js'
import { applyServerTimeouts } from './applyServerTimeouts.js'
import type { DispatchPluginOptions } from './dispatchPluginOptions.js'

const BATCH_ADVERTISED = String(MAX_BATCH_CALLS)

function send(reply: FastifyReply, answer: RunAnswer): FastifyReply {
  // A client refused for who it is gets no kept-alive socket to try again on.
  if (answer.statusCode === 401 || answer.statusCode === 403) reply.header('connection', 'close')
  const { contentType, payload } = answerPayload(answer)
  reply.code(answer.statusCode).header('content-type', contentType).header(BATCH_HEADER, BATCH_ADVERTISED)
  // A batch's answers go out one line at a time, each as soon as its call finished (chunked).
  if (answer.lines !== undefined) return reply.send(Readable.from(answer.lines))
  return reply.send(
    typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
  )
}

// Framework-level refusals (limits, media types) become Connect JSON 400s like every other refusal.
function errorAnswer(error: FastifyError, bodyLimit: number): RunAnswer {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge(bodyLimit)
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return connectError(400, 'invalid_argument', 'the Content-Length does not match the body')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return connectError(
        400,
        'invalid_argument',
        'the content type is missing or not supported; send application/json or application/proto',
      )
  }
  const status = error.statusCode ?? 500
  return status >= 400 && status < 500
    ? connectError(400, 'invalid_argument', error.message)
    : connectError(500, 'internal', 'the endpoint failed to handle the request')
}

/**
 * The Dispatch endpoint as a Fastify plugin: mounts `POST /dispatch.sdk.v1.FunctionService/Run` (under
 * the register `prefix`, if any) and nothing else, in its own encapsulated context, so the body parser
 * it installs (raw bytes, needed to check signatures) does not touch the application's other routes.
 * A request is verified on its raw bytes before it is parsed or any function runs: signed by the
 * scheduler's key, for this endpoint's own URL (not the `Host` it came with), within the five-minute
 * window, and not seen before (replays are refused); then its input is validated against the route's
 * schema, the function runs, and what it returns or throws becomes the RunResponse. Fails closed at
 * registration: without a verification key (unless `verificationKey: false`), without this
 * endpoint's URL while verifying, or with an unusable key, URL or route schema.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { dispatchPlugin } from 'dispatch-functions/fastify'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * const app = Fastify({ logger: true })
 * // DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL from the environment (`dispatch run` sets both)
 * await app.register(dispatchPlugin, { routes })
 * await app.listen({ port: 8000 })
 * ```
 */
export const dispatchPlugin: FastifyPluginAsync<DispatchPluginOptions> = async (instance, options) => {
  const { handle, bodyLimit, publicKey, refusedBeforeBody } = createEndpoint(
    options,
    'dispatchPlugin',
    {
      onVerificationOff: () =>
        instance.log.warn('dispatch: verification is off (verificationKey: false): requests are accepted unsigned'),
      onFailure: (name, status, error) =>
        // A restart from input (DSP2266) is expected, its reason is the whole story; any other
        // failure, a user's error classified INCOMPATIBLE_STATE included, keeps its stack.
        status === 'STATUS_INCOMPATIBLE_STATE' && String((error as Error)?.message).startsWith('DSP2266')
          ? instance.log.warn(
              { function: name, status },
              `dispatch coroutine restarts from its input: ${(error as Error).message}`,
            )
          : instance.log.warn({ err: error, function: name, status }, 'dispatch function failed'),
      onWarning: (name, message) => instance.log.warn({ function: name }, `dispatch: ${message}`),
    },
    nodeEndpointCrypto,
  )
  applyServerTimeouts(instance.server, options.serverTimeouts)

  // Raw bytes for every content type: the signature covers them, and the content type is checked
  // (as a Connect 400) only after the signature.
  let closing = false
  instance.addHook('preClose', (done) => {
    closing = true
    done()
  })
  instance.removeAllContentTypeParsers()
  instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body))
  instance.setErrorHandler((error: FastifyError, _request, reply) => send(reply, errorAnswer(error, bodyLimit)))

  instance.post(
    RUN_PATH,
    {
      bodyLimit,
      // A plain callback hook: cheaper per request than an async one.
      onRequest: (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
        const headers = request.headers
        // Refused before its body is read: an unsigned client cannot make the endpoint wait for bytes.
        if (publicKey !== undefined && (headers.signature === undefined || headers['signature-input'] === undefined)) {
          refusedBeforeBody(UNSIGNED)
          send(reply, UNSIGNED)
        } else if (headers['content-length'] === undefined) send(reply, MISSING_LENGTH)
        else done()
      },
    },
    async (request, reply) => {
      const url = request.url
      const query = url.indexOf('?')
      const answer = await handle({
        method: request.method,
        path: query === -1 ? url : url.slice(0, query),
        authority: request.headers.host ?? request.host,
        headers: request.headers,
        body: Buffer.isBuffer(request.body) ? request.body : EMPTY,
      })
      // While the server closes, a keep-alive connection that was busy when close() began would
      // stay open (the scheduler's pool keeps it for up to a minute) and hold close() up with it.
      if (closing) reply.header('connection', 'close')
      // A batch's headers go out at once, promising keep-alive, before the server may begin to close:
      // a connection still streaming then is ended once its last line is out.
      if (answer.lines !== undefined) {
        // Taken now: a response lets go of its socket once finished.
        const socket = request.raw.socket
        reply.raw.once('finish', () => {
          if (closing) socket.end()
        })
      }
      return send(reply, answer)
    },
  )
}

const EMPTY = Buffer.alloc(0)
