import { bodyTooLarge, MISSING_LENGTH, UNSIGNED } from './createEndpoint.js'
import { connectError, type RunAnswer } from './runAnswer.js'

/** The answer to a body whose bytes do not match its Content-Length. */
export const LENGTH_MISMATCH = connectError(400, 'invalid_argument', 'the Content-Length does not match the body')

/** The answer to a body that could not be read to its end (the client went away, the stream failed). */
export const BODY_UNREADABLE = connectError(400, 'invalid_argument', 'the request body could not be read to its end')

/** The answer to a request for another path or method than `POST …/dispatch.sdk.v1.FunctionService/Run`. */
export const NOT_THE_RUN_ROUTE = connectError(
  404,
  'not_found',
  'this endpoint answers POST /dispatch.sdk.v1.FunctionService/Run only',
)

/** The request line and headers of a request, as every adapter reads them before its body. */
export interface RequestHead {
  /** Whether the endpoint requires signatures. */
  readonly verifying: boolean
  readonly signature: unknown
  readonly signatureInput: unknown
  readonly contentLength: string | null | undefined
  readonly bodyLimit: number
}

/**
 * The refusal of a request on its headers alone, before its body is read, or else its announced
 * length: unsigned while signatures are required (401), without a Content-Length (400), or with
 * one over the limit (400). So a client cannot make the endpoint wait for, or buffer, a body it
 * would refuse anyway.
 */
export function refuseBeforeBody(head: RequestHead): RunAnswer | number {
  if (head.verifying && (head.signature == null || head.signatureInput == null)) return UNSIGNED
  const text = head.contentLength
  if (text == null) return MISSING_LENGTH
  const length = /^[0-9]{1,16}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  if (!Number.isSafeInteger(length)) return LENGTH_MISMATCH
  if (length > head.bodyLimit) return bodyTooLarge(head.bodyLimit)
  return length
}

/** Whether the connection a request came on is closed after `answer`: a client refused for who it is gets no kept-alive socket to try again on. */
export function closesConnection(answer: RunAnswer): boolean {
  return answer.statusCode === 401 || answer.statusCode === 403
}
