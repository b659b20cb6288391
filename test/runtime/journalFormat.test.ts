import { describe, expect, it } from 'vitest'
import { decodeJournal, encodeJournal, type Journal } from '../../runtime/coroutine/journal.js'
import {
  callOp,
  callOutcome,
  failureOutcome,
  firesAt,
  isCallOp,
  isSleepOp,
  isStepOp,
  markSent,
  outcomeError,
  outcomeOutput,
  outputOutcome,
  recordOutcome,
  recordStepOutcome,
  sentMark,
  sleepOp,
  stepAttempts,
  stepName,
  stepOp,
  stepOutcome,
} from '../../runtime/coroutine/journalOps.js'

// The journal's keys are part of the serialized coroutine state (docs/protocol.md §13.2): a state
// written by an earlier version must stay readable, so the wire form is pinned here, byte for byte.

/** The example of docs/protocol.md §13.2. */
const DOCUMENTED =
  '{"v":1,"fn":"notify","ver":"3bq0mHkq1C0sAx9Z","args":[["u1","u2"]],' +
  '"ops":[{"k":"call","f":"getUser","h":"kQ1n0b2c9e3A","r":{"o":{"id":"u1"}},"s":1},' +
  '{"k":"call","f":"getUser","h":"Zx8mC1p0q2Rt","s":1},' +
  '{"k":"sleep","u":1767225600000}],' +
  '"batches":[[0]],"sent":[1]}'

describe('the coroutine journal format', () => {
  it('reads the documented state through the named accessors', () => {
    const journal = decodeJournal(Buffer.from(DOCUMENTED).toString('base64'))
    if (typeof journal === 'string') throw new Error(journal)
    const [first, second, timer] = journal.ops
    expect(isCallOp(first) && outcomeOutput(callOutcome(first)!)).toEqual({ id: 'u1' })
    expect(isCallOp(second) && sentMark(second)).toBe(1)
    expect(isCallOp(second) && callOutcome(second)).toBeUndefined()
    expect(isSleepOp(timer) && firesAt(timer)).toBe(1_767_225_600_000)
  })

  it('writes the same keys it reads', () => {
    const first = callOp('getUser', 'kQ1n0b2c9e3A')
    recordOutcome(first, outputOutcome({ id: 'u1' }))
    markSent(first)
    const second = callOp('getUser', 'Zx8mC1p0q2Rt')
    markSent(second)
    const journal: Journal = {
      v: 1,
      fn: 'notify',
      ver: '3bq0mHkq1C0sAx9Z',
      args: [['u1', 'u2']],
      ops: [first, second, sleepOp(1_767_225_600_000)],
      batches: [[0]],
      sent: [1],
    }
    expect(Buffer.from(encodeJournal(journal), 'base64').toString('utf8')).toBe(DOCUMENTED)
  })

  it('reads and writes the step operation of docs/protocol.md §13.2, beside states written before it', () => {
    const ok = stepOp('charge')
    recordStepOutcome(ok, outputOutcome({ receipt: 'r1' }), 1)
    const failed = stepOp('email')
    recordStepOutcome(failed, failureOutcome({ type: 'TimeoutError', message: 'too slow' }), 3)
    const journal: Journal = {
      v: 1,
      fn: 'order',
      ver: '3bq0mHkq1C0sAx9Z',
      args: [],
      ops: [ok, failed],
      batches: [[0], [1]],
      sent: [],
    }
    const json = Buffer.from(encodeJournal(journal), 'base64').toString('utf8')
    expect(json).toBe(
      '{"v":1,"fn":"order","ver":"3bq0mHkq1C0sAx9Z","args":[],' +
        '"ops":[{"k":"step","n":"charge","r":{"o":{"receipt":"r1"}}},' +
        '{"k":"step","n":"email","r":{"e":{"type":"TimeoutError","message":"too slow"}},"a":3}],' +
        '"batches":[[0],[1]],"sent":[]}',
    )
    const back = decodeJournal(Buffer.from(json).toString('base64'))
    if (typeof back === 'string') throw new Error(back)
    const [first, second] = back.ops
    expect(isStepOp(first) && [stepName(first), outcomeOutput(stepOutcome(first)!), stepAttempts(first)]).toEqual([
      'charge',
      { receipt: 'r1' },
      1,
    ])
    expect(isStepOp(second) && outcomeError(stepOutcome(second)!)).toEqual({
      type: 'TimeoutError',
      message: 'too slow',
    })
    // A state written before steps existed is still a journal of the same version.
    expect(typeof decodeJournal(Buffer.from(DOCUMENTED).toString('base64'))).toBe('object')
  })

  it('refuses a step without its outcome, or with a malformed one', () => {
    const state = (op: unknown) =>
      Buffer.from(JSON.stringify({ v: 1, fn: 'f', ver: 'x', args: [], ops: [op], batches: [], sent: [] })).toString(
        'base64',
      )
    expect(typeof decodeJournal(state({ k: 'step', n: 'a', r: { o: 1 } }))).toBe('object')
    expect(decodeJournal(state({ k: 'step', n: 'a' }))).toMatch(/unknown shape/)
    expect(decodeJournal(state({ k: 'step', r: { o: 1 } }))).toMatch(/unknown shape/)
    expect(decodeJournal(state({ k: 'step', n: 'a', r: { e: { type: 1 } } }))).toMatch(/unknown shape/)
    expect(decodeJournal(state({ k: 'step', n: 'a', r: {}, a: 0 }))).toMatch(/unknown shape/)
  })
})
