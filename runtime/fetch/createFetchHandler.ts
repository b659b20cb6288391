import { RUN_PATH } from '../../schemas/runUrl.js'
import { BATCH_HEADER, MAX_BATCH_CALLS } from '../endpoint/batchWire.js'
import { bodyTooLarge, createEndpoint } from '../endpoint/createEndpoint.js'
import { type BodyRead, readBody } from '../endpoint/readBody.js'
import {
  BODY_UNREADABLE,
  closesConnection,
  LENGTH_MISMATCH,
  NOT_THE_RUN_ROUTE,
  refuseBeforeBody,
} from '../endpoint/refusals.js'
import { reportFailure } from '../endpoint/reportFailure.js'
import { answerPayload, type RunAnswer } from '../endpoint/runAnswer.js'
import { webEndpointCrypto } from '../endpoint/webEndpointCrypto.js'
import type { RequestHeaders } from '../signing/prepareVerification.js'
import type { FetchHandlerOptions } from './fetchHandlerOptions.js'

function respond(answer: RunAnswer): Response {
  const { contentType, payload } = answerPayload(answer)
  const headers: Record<string, string> = { 'content-type': contentType, [BATCH_HEADER]: String(MAX_BATCH_CALLS) }
  // A client refused for who it is gets no kept-alive socket to try again on (where the server honours it).
  if (closesConnection(answer)) headers['connection'] = 'close'
  if (answer.lines !== undefined) {
    // A batch's answers, one chunk per line as each call finishes.
    const iterator = answer.lines[Symbol.asyncIterator]()
    const encoder = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await iterator.next()
        if (next.done) controller.close()
        else controller.enqueue(encoder.encode(next.value))
      },
    })
    return new Response(body, { status: answer.statusCode, headers })
  }
  return new Response(payload as ConstructorParameters<typeof Response>[0], { status: answer.statusCode, headers })
}

// Header names come lower-case from `Headers`; repeated fields arrive joined with ", ", as Node joins them.
function headersOf(headers: Headers): RequestHeaders {
  const record: Record<string, string> = {}
  headers.forEach((value, name) => {
    record[name] = value
  })
  return record
}

async function* chunksOf(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    yield value
  }
}

/**
 * The Dispatch endpoint as a web-standard handler, `(request: Request) => Promise<Response>`: for
 * Hono, a Next.js App Router route (`export const POST = …`), `Bun.serve`, `Deno.serve` or a
 * Cloudflare Worker. It answers `POST …/dispatch.sdk.v1.FunctionService/Run` (under any prefix) and
 * refuses anything else with 404. The same checks as the Fastify plugin, in the same order: an
 * unsigned request, one without a Content-Length or one over the body limit is refused before its
 * body is read; the signature is verified on the raw bytes (Web Crypto: SHA digests and Ed25519)
 * for this endpoint's own URL, within the window, once (replays refused); then the input is
 * validated, the function runs, and what it returns or throws becomes the RunResponse. Fails closed
 * when created: without a verification key (unless `verificationKey: false`), without this
 * endpoint's URL while verifying, or with an unusable key, URL or route schema. Its module graph
 * reaches no `node:` module but `node:async_hooks` (see docs/endpoint.md).
 *
 * @example
 * ```ts
 * import { createFetchHandler } from 'dispatch-functions/fetch'
 * import { routes } from './dispatch.gen/routes.gen.js'
 * // DISPATCH_VERIFICATION_KEY and DISPATCH_ENDPOINT_URL from the environment (`dispatch run` sets both)
 * const dispatch = createFetchHandler({ routes })
 * Bun.serve({ port: 8000, fetch: dispatch })
 * ```
 */
export function createFetchHandler(options: FetchHandlerOptions): (request: Request) => Promise<Response> {
  const { handle, bodyLimit, publicKey, refusedBeforeBody } = createEndpoint(
    options,
    'createFetchHandler',
    {
      onFailure: options.onFailure ?? reportFailure,
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    },
    webEndpointCrypto,
  )
  const verifying = publicKey !== undefined

  return async function dispatch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    if (request.method !== 'POST' || !url.pathname.endsWith(RUN_PATH)) return respond(NOT_THE_RUN_ROUTE)
    const headers = request.headers
    const length = refuseBeforeBody({
      verifying,
      signature: headers.get('signature'),
      signatureInput: headers.get('signature-input'),
      contentLength: headers.get('content-length'),
      bodyLimit,
    })
    if (typeof length !== 'number') {
      refusedBeforeBody(length)
      return respond(length)
    }
    let body: Uint8Array
    if (request.body === null) {
      if (length !== 0) return respond(LENGTH_MISMATCH)
      body = new Uint8Array(0)
    } else {
      const reader = request.body.getReader()
      let read: BodyRead
      try {
        read = await readBody(chunksOf(reader), length, bodyLimit, () => {
          reader.cancel().catch(() => {})
        })
      } catch {
        // The client went away mid-body (or the runtime failed the stream): answered, never thrown.
        return respond(BODY_UNREADABLE)
      }
      if (read.kind === 'tooLarge') return respond(bodyTooLarge(bodyLimit))
      if (read.kind === 'lengthMismatch') return respond(LENGTH_MISMATCH)
      body = read.bytes
    }
    const answer = await handle({
      method: request.method,
      path: url.pathname,
      authority: headers.get('host') ?? url.host,
      headers: headersOf(headers),
      body,
    })
    return respond(answer)
  }
}
