import { MAX_PRIORITY, MIN_PRIORITY } from 'dispatch-functions/protocol'
import type { FlowModel } from '../model/model.js'

/** One JSDoc tag line of a function's comment: its name, its value, and where the tag starts. */
export interface TagLine {
  readonly tag: string
  readonly value: string
  /** 0-based offset of the `@` in the source file. */
  readonly offset: number
}

/** A problem with a flow tag, at the tag. */
export interface FlowProblem {
  readonly code: 'DSP1030' | 'DSP1031'
  readonly offset: number
  readonly message: string
  readonly hint: string
}

/** The tags docs/flow-control.md defines, and whether this version enforces each. */
const FLOW_TAGS: Readonly<Record<string, boolean>> = {
  priority: true,
  concurrency: false,
  rateLimit: false,
  debounce: false,
  schedule: false,
}

/** The syntax of each tag, for messages. */
const SYNTAX: Readonly<Record<string, string>> = {
  priority: '`@priority N` (an integer from 0 to 100)',
  concurrency: '`@concurrency N key=path` (N from 1 to 10000; `key=` optional)',
  rateLimit: '`@rateLimit N/period key=path` (`@rateLimit 10/1m`; `key=` optional)',
  debounce: '`@debounce 5s key=path keep=last`',
  schedule: '`@schedule "0 3 * * *" tz=Europe/Paris`',
}

/**
 * The JSDoc tag lines of a raw comment (`/** ... *\/` from `start`): each `@tag value` at the start
 * of a line, the value up to the end of the line.
 */
export function tagLines(text: string, start: number, end: number): TagLine[] {
  const lines: TagLine[] = []
  const pattern = /^[ \t]*\*?[ \t]*@([A-Za-z]+)[ \t]*(.*?)[ \t]*(?:\*\/)?$/gm
  const body = text.slice(start, end)
  for (const match of body.matchAll(pattern)) {
    const at = match[0].indexOf('@')
    lines.push({ tag: match[1]!, value: match[2]!, offset: start + match.index + at })
  }
  return lines
}

/**
 * The flow options of a function's tag lines, checked: a malformed value (DSP1030) or a tag this
 * version does not enforce (DSP1031) is a problem at the tag, and the function gets no model.
 */
export function readFlowTags(lines: readonly TagLine[]): { flow: FlowModel | undefined; problems: FlowProblem[] } {
  const problems: FlowProblem[] = []
  const seen = new Set<string>()
  let priority: number | undefined
  for (const { tag, value, offset } of lines) {
    if (!(tag in FLOW_TAGS)) continue
    const malformed = (what: string) =>
      problems.push({
        code: 'DSP1030',
        offset,
        message: `@${tag} ${what}`,
        hint: `write it as ${SYNTAX[tag]} (docs/flow-control.md)`,
      })
    if (seen.has(tag)) {
      malformed('is given twice')
      continue
    }
    seen.add(tag)
    if (!FLOW_TAGS[tag]) {
      problems.push({
        code: 'DSP1031',
        offset,
        message: `@${tag} is not enforced by this version of the scheduler yet`,
        hint: 'remove the tag: docs/flow-control.md lists the options enforced today',
      })
      continue
    }
    if (tag === 'priority') {
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
      if (!(n >= MIN_PRIORITY && n <= MAX_PRIORITY)) {
        malformed(
          value === ''
            ? 'needs a value'
            : `${JSON.stringify(value)} is not an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`,
        )
      } else priority = n
    }
  }
  if (problems.length > 0 || priority === undefined) return { flow: undefined, problems }
  return { flow: { priority }, problems }
}
