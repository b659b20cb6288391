import type { KeyObject } from 'node:crypto'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { DispatchError } from '../errors/dispatchError.js'
import { parsePublicKey } from '../signing/parseKey.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { compileRoutes } from './compileRoutes.js'
import { createRunHandler } from './createRunHandler.js'
import { DEFAULT_BODY_LIMIT, type DispatchPluginOptions, RUN_PATH } from './dispatchPluginOptions.js'
import { connectError, type RunAnswer } from './runAnswer.js'

function resolveKey(option: DispatchPluginOptions['verificationKey']): KeyObject | undefined {
  if (option === false) return undefined
  if (option !== undefined && typeof option !== 'string') return option
  const variable = option === undefined ? 'DISPATCH_VERIFICATION_KEY' : 'the verificationKey option'
  const text = option ?? process.env['DISPATCH_VERIFICATION_KEY']
  return text === undefined || text === '' ? undefined : parsePublicKey(text, variable)
}

function send(reply: FastifyReply, answer: RunAnswer): FastifyReply {
  return reply.code(answer.statusCode).header('content-type', 'application/json').send(answer.body)
}

// Framework-level refusals (limits, media types) become Connect JSON 400s like every other refusal.
function errorAnswer(error: FastifyError, bodyLimit: number): RunAnswer {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return connectError(400, 'invalid_argument', `the body is over the limit of ${bodyLimit} bytes`)
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return connectError(400, 'invalid_argument', 'the Content-Length does not match the body')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return connectError(
        400,
        'invalid_argument',
        'the content type is missing or not supported; send application/json',
      )
  }
  const status = error.statusCode ?? 500
  return status >= 400 && status < 500
    ? connectError(400, 'invalid_argument', error.message)
    : connectError(500, 'internal', 'the endpoint failed to handle the request')
}

const MISSING_LENGTH = connectError(
  400,
  'invalid_argument',
  'the request has no Content-Length; send the body with a length',
)

/**
 * The Dispatch endpoint as a Fastify plugin: mounts `POST /dispatch.sdk.v1.FunctionService/Run` (under
 * the register `prefix`, if any) and nothing else, in its own encapsulated context, so the body parser
 * it installs (raw bytes, needed to check signatures) does not touch the application's other routes.
 * A request is verified on its raw bytes before it is parsed or any function runs; then its input is
 * validated against the route's schema, the function runs, and what it returns or throws becomes the
 * RunResponse. Fails at registration when the verification key or a route schema is unusable.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { dispatchPlugin } from 'dispatch-functions/fastify'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * const app = Fastify({ logger: true })
 * await app.register(dispatchPlugin, { routes })   // DISPATCH_VERIFICATION_KEY from the environment
 * await app.listen({ port: 8000 })
 * ```
 */
export const dispatchPlugin: FastifyPluginAsync<DispatchPluginOptions> = async (instance, options) => {
  if (options.routes === undefined || options.routes === null || typeof options.routes !== 'object') {
    throw new DispatchError('DSP2205', 'dispatchPlugin needs a route table: register it with { routes }', {
      hint: "import { routes } from './dispatch.gen/routes.gen.js' (npm run dispatch:gen writes it)",
    })
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0) {
    throw new DispatchError('DSP2205', `bodyLimit must be a positive integer number of bytes, not ${bodyLimit}`)
  }
  const maxJournalBytes = options.maxJournalBytes
  if (maxJournalBytes !== undefined && (!Number.isInteger(maxJournalBytes) || maxJournalBytes <= 0)) {
    throw new DispatchError(
      'DSP2205',
      `maxJournalBytes must be a positive integer number of bytes, not ${maxJournalBytes}`,
      { hint: 'leave it out for the default (8 MiB), which keeps resumed turns inside the 16 MiB request limit' },
    )
  }
  const publicKey = resolveKey(options.verificationKey)
  if (publicKey === undefined) {
    instance.log.warn(
      'dispatch: no verification key (DISPATCH_VERIFICATION_KEY): requests are accepted unsigned; set it so only the scheduler can run functions',
    )
  }
  const classifiers = new Map<ErrorClass, ErrorClassifier['status']>()
  for (const classifier of options.classifiers ?? []) classifiers.set(classifier.error, classifier.status)

  const handle = createRunHandler({
    routes: compileRoutes(options.routes),
    publicKey,
    classifiers,
    endpoint: options.endpoint ?? (process.env['DISPATCH_ENDPOINT_URL'] || undefined),
    verifyOffThread: options.verifyOffThread ?? false,
    maxJournalBytes,
    onFailure: (name, status, error) =>
      instance.log.warn({ err: error, function: name, status }, 'dispatch function failed'),
  })

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
        if (request.headers['content-length'] === undefined) send(reply, MISSING_LENGTH)
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
      return send(reply, answer)
    },
  )
}

const EMPTY = Buffer.alloc(0)
