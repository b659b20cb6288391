import type { Call } from '../../schemas/call.js'
import type { ErrorMessage } from '../../schemas/error.js'
import type { Poll } from '../../schemas/run.js'
import type { Status } from '../../schemas/status.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { base64OfText } from '../portable/base64.js'
import { BATCH_STREAM_CONTENT_TYPE } from './batchWire.js'

/**
 * What the endpoint answers over HTTP: a status code and a JSON body, or (to a request in binary
 * protobuf) a 200 RunResponse in `binary`, sent as `application/proto` instead of `body`.
 */
export interface RunAnswer {
  readonly statusCode: number
  readonly body: string
  /** The RunResponse's status, for the answers that are one (not the Connect errors). */
  readonly status?: Status
  readonly binary?: Uint8Array
  /**
   * A batch's answer (docs/protocol.md, "Batched delivery"): NDJSON lines written as they come, in one
   * chunked response, instead of `body`.
   */
  readonly lines?: AsyncIterable<string>
}

/** The `Content-Type` and the bytes (or text) an adapter sends for `answer`. */
export function answerPayload(answer: RunAnswer): { contentType: string; payload: string | Uint8Array } {
  if (answer.lines !== undefined) return { contentType: BATCH_STREAM_CONTENT_TYPE, payload: '' }
  return answer.binary === undefined
    ? { contentType: 'application/json', payload: answer.body }
    : { contentType: 'application/proto', payload: answer.binary }
}

/** A Connect JSON error (docs/protocol.md §4.2): the request was refused before any function ran. */
export function connectError(statusCode: 400 | 401 | 403 | 404 | 500, code: string, message: string): RunAnswer {
  return { statusCode, body: JSON.stringify({ code, message }) }
}

export function invalidRequest(message: string): RunAnswer {
  return connectError(400, 'invalid_argument', message)
}

// The success answer is the hot path: built by concatenation around the one stringify of the output.
const OK_PREFIX = `{"status":"STATUS_OK","exit":{"result":{"output":{"@type":${JSON.stringify(VALUE_TYPE_URL)},"value":`
const OK_SUFFIX = '}}}}'
const OK_EMPTY: RunAnswer = {
  statusCode: 200,
  body: '{"status":"STATUS_OK","exit":{"result":{}}}',
  status: 'STATUS_OK',
}

/**
 * The RunResponse of a returned value (undefined: no output). Throws when the value is not JSON
 * (a BigInt, a cycle): the caller turns that into INVALID_RESPONSE.
 */
export function okAnswer(value: unknown): RunAnswer {
  if (value === undefined) return OK_EMPTY
  const json = JSON.stringify(value)
  // Functions and symbols stringify to undefined: like an undefined result, there is no output.
  if (json === undefined) return OK_EMPTY
  return { statusCode: 200, body: OK_PREFIX + json + OK_SUFFIX, status: 'STATUS_OK' }
}

/** The RunResponse of a failed run. */
export function failedAnswer(status: Status, error: ErrorMessage): RunAnswer {
  return { statusCode: 200, body: JSON.stringify({ status, exit: { result: { error } } }), status }
}

/** The RunResponse of a coroutine that suspends until results of its calls arrive. */
export function pollAnswer(poll: Poll): RunAnswer {
  return { statusCode: 200, body: JSON.stringify({ status: 'STATUS_OK', poll }), status: 'STATUS_OK' }
}

/** The RunResponse of a run replaced by another call; followed whatever the status, so OK. */
export function tailCallAnswer(call: Call): RunAnswer {
  return {
    statusCode: 200,
    body: JSON.stringify({ status: 'STATUS_OK', exit: { result: {}, tailCall: call } }),
    status: 'STATUS_OK',
  }
}

/** `dispatch.sdk.v1.Error` of anything thrown: its name, message and stack (base64 of UTF-8). */
export function errorMessageOf(thrown: unknown): ErrorMessage {
  try {
    if (thrown instanceof Error) {
      const error: ErrorMessage = {
        type: String(thrown.name || thrown.constructor?.name || 'Error'),
        message: String(thrown.message),
      }
      if (typeof thrown.stack === 'string') error.traceback = base64OfText(thrown.stack)
      return error
    }
    const type =
      thrown === null ? 'null' : typeof thrown === 'object' ? (thrown.constructor?.name ?? 'Object') : typeof thrown
    return { type, message: typeof thrown === 'string' ? thrown : safeJson(thrown) }
  } catch {
    // A getter on the thrown value can itself throw: still report something.
    return { type: 'Error', message: 'the function threw a value that cannot be described' }
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
