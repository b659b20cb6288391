import { describe, expect, it } from 'vitest'
import { decodeJournal, encodeJournal, type Journal } from '../../runtime/coroutine/journal.js'
import {
  callOp,
  callOutcome,
  firesAt,
  isCallOp,
  isSleepOp,
  markSent,
  outcomeOutput,
  outputOutcome,
  recordOutcome,
  sentMark,
  sleepOp,
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
})
