import {
  MAX_DEBOUNCE_MS,
  MAX_KEY_CONCURRENCY,
  MAX_PRIORITY,
  MAX_RATE_LIMIT,
  MAX_RATE_PERIOD_MS,
  MIN_PRIORITY,
  MIN_RATE_PERIOD_MS,
} from 'dispatch-functions/protocol'
import type { FlowModel } from '../model/model.js'
import { readScheduleTag, SCHEDULE_SYNTAX } from './scheduleTag.js'

/** One JSDoc tag line of a function's comment: its name, its value, and where the tag starts. */
export interface TagLine {
  readonly tag: string
  readonly value: string
  /** 0-based offset of the `@` in the source file. */
  readonly offset: number
}

/** A problem with a flow tag, at the tag. */
export interface FlowProblem {
  readonly code: 'DSP1030' | 'DSP1031' | 'DSP1032'
  readonly offset: number
  readonly message: string
  readonly hint: string
}

/** The tags docs/flow-control.md defines, and whether this version enforces each. */
const FLOW_TAGS: Readonly<Record<string, boolean>> = {
  priority: true,
  concurrency: true,
  rateLimit: true,
  debounce: true,
  schedule: true,
}

/** The syntax of each tag, for messages. */
const SYNTAX: Readonly<Record<string, string>> = {
  priority: '`@priority N` (an integer from 0 to 100)',
  concurrency: '`@concurrency N key=path` (N from 1 to 10000; `key=` optional)',
  rateLimit:
    '`@rateLimit N/period key=path` (`@rateLimit 10/1m`: N from 1 to 1000000, a period from 1s to 1d in s, m, h or d; `key=` optional)',
  debounce:
    '`@debounce 5s key=path keep=last max=1m` (a window from 1ms to 1d in ms, s, m, h or d; `key=`, `keep=last|first` and `max=` optional, max not shorter than the window)',
  schedule: SCHEDULE_SYNTAX,
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
export function readFlowTags(
  lines: readonly TagLine[],
  parameters: readonly string[],
  required: number = parameters.length,
): { flow: FlowModel | undefined; problems: FlowProblem[] } {
  const problems: FlowProblem[] = []
  const seen = new Set<string>()
  let priority: number | undefined
  let concurrency: FlowModel['concurrency']
  let rateLimit: FlowModel['rateLimit']
  let debounce: FlowModel['debounce']
  let schedule: FlowModel['schedule']
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
    } else if (tag === 'concurrency') {
      const [count = '', ...options] = value.split(/\s+/).filter((word) => word !== '')
      const limit = /^\d+$/.test(count) ? Number(count) : Number.NaN
      if (!(limit >= 1 && limit <= MAX_KEY_CONCURRENCY)) {
        malformed(
          count === ''
            ? 'needs a limit'
            : `${JSON.stringify(count)} is not an integer from 1 to ${MAX_KEY_CONCURRENCY}`,
        )
        continue
      }
      const read = readOptions(options, ['key'])
      if (typeof read === 'string') {
        malformed(read)
        continue
      }
      if (read['key'] === undefined) {
        concurrency = { limit }
        continue
      }
      const key = keyPath(read['key'], parameters)
      if (typeof key === 'string') malformed(key)
      else concurrency = { limit, key }
    } else if (tag === 'rateLimit') {
      const [rate = '', ...options] = value.split(/\s+/).filter((word) => word !== '')
      const parsed = parseRate(rate)
      if (typeof parsed === 'string') {
        malformed(parsed)
        continue
      }
      const read = readOptions(options, ['key'])
      if (typeof read === 'string') {
        malformed(read)
        continue
      }
      if (read['key'] === undefined) {
        rateLimit = parsed
        continue
      }
      const key = keyPath(read['key'], parameters)
      if (typeof key === 'string') malformed(key)
      else rateLimit = { ...parsed, key }
    } else if (tag === 'debounce') {
      const read = readDebounce(value, parameters)
      if (typeof read === 'string') malformed(read)
      else debounce = read
    } else if (tag === 'schedule') {
      schedule = readSchedule(value, offset, required, problems, malformed)
    }
  }
  const flow: { -readonly [K in keyof FlowModel]: FlowModel[K] } = {}
  if (priority !== undefined) flow.priority = priority
  if (concurrency !== undefined) flow.concurrency = concurrency
  if (rateLimit !== undefined) flow.rateLimit = rateLimit
  if (debounce !== undefined) flow.debounce = debounce
  if (schedule !== undefined) flow.schedule = schedule
  if (problems.length > 0 || Object.keys(flow).length === 0) return { flow: undefined, problems }
  return { flow, problems }
}

/** A `@schedule` tag's model, or undefined with its problem reported. */
function readSchedule(
  value: string,
  offset: number,
  required: number,
  problems: FlowProblem[],
  malformed: (what: string) => void,
): FlowModel['schedule'] {
  const read = readScheduleTag(value, required)
  if (!('problem' in read)) return read
  if (read.code === 'DSP1032') {
    problems.push({
      code: 'DSP1032',
      offset,
      message: `@schedule ${read.problem}`,
      hint: 'a tick has no caller: give the arguments with input=[...] (JSON), or make the parameters optional (docs/flow-control.md)',
    })
  } else malformed(read.problem)
  return undefined
}

const PERIOD_UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `10/1m` (also `10/m`, `100/30s`) into a limit and a period in ms, or what is wrong with it. */
function parseRate(text: string): { limit: number; periodMs: number } | string {
  if (text === '') return 'needs a rate (`10/1m`)'
  const match = /^(\d+)\/(\d*)([smhd])$/.exec(text)
  if (!match) return `${JSON.stringify(text)} is not a rate N/period (\`10/1m\`, \`100/1s\`, \`5000/1d\`)`
  const limit = Number(match[1])
  if (!(limit >= 1 && limit <= MAX_RATE_LIMIT))
    return `${JSON.stringify(text)}: N is not an integer from 1 to ${MAX_RATE_LIMIT}`
  const periodMs = Number(match[2] === '' ? '1' : match[2]) * PERIOD_UNIT_MS[match[3]!]!
  if (!(periodMs >= MIN_RATE_PERIOD_MS && periodMs <= MAX_RATE_PERIOD_MS)) {
    return `${JSON.stringify(text)}: the period is not from 1s to 1d`
  }
  return { limit, periodMs }
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ms: 1, ...PERIOD_UNIT_MS }

/** `5s`, `500ms`, `1m` into ms within a debounce's bounds, or what is wrong with it. */
function parseDuration(text: string, what: string): number | string {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text)
  if (!match) return `${what} ${JSON.stringify(text)} is not a duration (\`500ms\`, \`5s\`, \`1m\`, \`1h\`)`
  const ms = Number(match[1]) * DURATION_UNIT_MS[match[2]!]!
  if (!(ms >= 1 && ms <= MAX_DEBOUNCE_MS)) return `${what} ${JSON.stringify(text)} is not from 1ms to 1d`
  return ms
}

/** `5s key=userId keep=last max=1m` into the model, or what is wrong with it. */
function readDebounce(value: string, parameters: readonly string[]): NonNullable<FlowModel['debounce']> | string {
  const [window = '', ...options] = value.split(/\s+/).filter((word) => word !== '')
  if (window === '') return 'needs a window (`5s`)'
  const windowMs = parseDuration(window, 'the window')
  if (typeof windowMs === 'string') return windowMs
  const read = readOptions(options, ['key', 'keep', 'max'])
  if (typeof read === 'string') return read
  const debounce: { -readonly [K in keyof NonNullable<FlowModel['debounce']>]: NonNullable<FlowModel['debounce']>[K] } =
    {
      windowMs,
    }
  if (read['key'] !== undefined) {
    const key = keyPath(read['key'], parameters)
    if (typeof key === 'string') return key
    debounce.key = key
  }
  const keep = read['keep']
  if (keep !== undefined) {
    if (keep !== 'last' && keep !== 'first') return `keep=${keep} is neither keep=last nor keep=first`
    debounce.keep = keep
  }
  if (read['max'] !== undefined) {
    const maxMs = parseDuration(read['max'], 'max')
    if (typeof maxMs === 'string') return maxMs
    if (maxMs < windowMs) return `max=${read['max']} is shorter than the window ${window}`
    debounce.maxMs = maxMs
  }
  return debounce
}

/** `name=value` words into a record, or what is wrong with them. */
function readOptions(words: readonly string[], allowed: readonly string[]): Record<string, string> | string {
  const options: Record<string, string> = {}
  for (const word of words) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(word)
    if (!match || !allowed.includes(match[1]!)) {
      return `has ${JSON.stringify(word)} where ${allowed.map((name) => `${name}=...`).join(' or ')} is expected`
    }
    options[match[1]!] = match[2]!
  }
  return options
}

/**
 * Where `key=a.b` reads the key: a parameter named `a`, then its field `b`; else, when no parameter is
 * named `a`, the first parameter's field `a`, then `b`.
 */
function keyPath(text: string, parameters: readonly string[]): { arg: number; path: string[] } | string {
  const names = text.split('.')
  if (!names.every((name) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name))) {
    return `key=${text} is not a dotted path of names (\`key=customerId\`, \`key=order.customerId\`)`
  }
  const arg = parameters.indexOf(names[0]!)
  if (arg >= 0) return { arg, path: names.slice(1) }
  if (parameters.length === 0) return `key=${text}: the function has no parameter to read a key from`
  return { arg: 0, path: names }
}
