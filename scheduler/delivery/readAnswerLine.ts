import { BatchAnswerLine, codedMessage, type ErrorMessage, type Status } from 'dispatch-functions/protocol'
import { Compile } from 'typebox/compile'
import { bodyExcerpt } from './bodyExcerpt.js'
import { OK_WITHOUT_OUTPUT } from './okWithoutOutput.js'
import { httpStatus } from './transportStatus.js'

const checkLine = Compile(BatchAnswerLine)

const LINE_START = '{"i":'
const OK_LINE_END = `,"code":200,"answer":${OK_WITHOUT_OUTPUT}}`
/** An index as JSON writes it (no sign, no leading zero), short enough to be exact. */
const INDEX = /^(?:0|[1-9][0-9]{0,14})$/
const OK_ANSWER: LineOutcome = { kind: 'answer', body: OK_WITHOUT_OUTPUT }

/** A call's outcome as its line gives it: a RunResponse to decode, or a status already decided. */
export type LineOutcome =
  | { readonly kind: 'answer'; readonly body: string; readonly decoded?: unknown }
  | { readonly kind: 'failure'; readonly status: Status; readonly error: ErrorMessage }

/** What one line of a batch answer says: a call's outcome, or why the line is skipped (with its code). */
export type AnswerLine =
  | { readonly index: number; readonly outcome: LineOutcome }
  | { readonly skipped: string; readonly index?: undefined }

/**
 * Reads line `lineNumber` (1-based) of `origin`'s answer to a batch of `count` calls, of which those
 * `answered` already have theirs (docs/protocol.md, "Batched delivery"). A line that is not an answer
 * line, names no call of the batch or one already answered is skipped: the calls still without an
 * answer when the stream ends are retried, with the reason as their error.
 */
export function readAnswerLine(
  line: string,
  lineNumber: number,
  count: number,
  answered: readonly boolean[],
  origin: string,
): AnswerLine {
  // The line of a call whose function returned nothing, as this package's endpoints write it: the
  // same outcome as read below, without parsing and checking it.
  if (line.startsWith(LINE_START) && line.endsWith(OK_LINE_END)) {
    const digits = line.slice(LINE_START.length, line.length - OK_LINE_END.length)
    if (INDEX.test(digits)) {
      const index = Number(digits)
      if (index < count && answered[index] !== true) return { index, outcome: OK_ANSWER }
    }
  }
  const where = `line ${lineNumber} of the batch answer from ${origin}`
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return { skipped: codedMessage('DSP3015', `${where} is not JSON: ${bodyExcerpt(line)}`) }
  }
  if (!checkLine.Check(parsed)) {
    return {
      skipped: codedMessage('DSP3015', `${where} is not {"i":index,"code":status,"answer":…}: ${bodyExcerpt(line)}`),
    }
  }
  const { i: index, code, answer } = parsed
  if (index >= count) {
    return {
      skipped: codedMessage('DSP3016', `${where} answers call ${index}; the batch had ${count} (0 to ${count - 1})`),
    }
  }
  if (answered[index] === true) {
    return {
      skipped: codedMessage('DSP3016', `${where} answers call ${index} a second time (its first answer stands)`),
    }
  }
  if (code >= 200 && code < 300) return { index, outcome: { kind: 'answer', body: '', decoded: answer } }
  return {
    index,
    outcome: {
      kind: 'failure',
      status: httpStatus(code),
      error: {
        type: `HTTP ${code}`,
        message: `${origin} answered HTTP ${code}: ${bodyExcerpt(JSON.stringify(answer ?? null))}`,
      },
    },
  }
}
