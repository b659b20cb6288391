import { type Static, Type } from 'typebox'

// The batched Run extension between this project's scheduler and endpoint (docs/protocol.md, "Batched
// delivery"): its names, limit and message shapes, defined here once so that both sides read the same.

/** The response header every Run answer carries: the most calls this endpoint accepts in one batch. */
export const BATCH_HEADER = 'dispatch-batch'
/** The content type of a batch request: `{"calls":[RunRequest, …]}` in JSON. */
export const BATCH_CONTENT_TYPE = 'application/vnd.dispatch.batch+json'
/** The content type of a batch answer: one JSON line per call, in the order the calls finish. */
export const BATCH_STREAM_CONTENT_TYPE = 'application/x-ndjson'
/** The most calls one batch may carry, and what this project's endpoints advertise. */
export const MAX_BATCH_CALLS = 256

/**
 * A batch request's body. Each call is checked as a RunRequest on its own, so that one malformed call
 * is answered on its line (400) while the others run.
 */
export const BatchRequest = Type.Object({
  calls: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_CALLS }),
})
export type BatchRequest = Static<typeof BatchRequest>

/**
 * One line of a batch answer: the call's index in `calls`, the HTTP status a single request would
 * have got, and what its body would have been (a RunResponse for 200, a Connect error otherwise).
 */
export const BatchAnswerLine = Type.Object({
  i: Type.Integer({ minimum: 0 }),
  code: Type.Integer({ minimum: 100, maximum: 599 }),
  answer: Type.Unknown(),
})
export type BatchAnswerLine = Static<typeof BatchAnswerLine>

/** The text of one answer line, newline included; `answer` is the JSON text of the call's answer. */
export function batchAnswerLine(index: number, code: number, answer: string): string {
  return `{"i":${index},"code":${code},"answer":${answer}}\n`
}
