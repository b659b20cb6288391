import type { AttemptInfo, CallInfo } from 'dispatch-functions/protocol'
import { describe, expect, it } from 'vitest'
import { formatRestarts } from '../../cli/formatRestarts.js'

// The restarts block of `dispatch calls get` (end to end in test/scheduler/coroutineStores.test.ts).

const call = (restarts?: number): CallInfo => ({
  dispatchId: '01m8p4bzax53magat3r2eqhvh1',
  function: 'checkout',
  endpoint: 'http://127.0.0.1:1',
  state: 'suspended',
  attempts: 0,
  createdAt: '2026-11-30T11:50:00.000Z',
  updatedAt: '2026-11-30T11:50:03.412Z',
  ...(restarts === undefined ? {} : { restarts }),
})
const attempt = (n: number, outcome: AttemptInfo['outcome'], message?: string): AttemptInfo => ({
  attempt: n,
  startedAt: '2026-11-30T11:50:03.400Z',
  finishedAt: '2026-11-30T11:50:03.412Z',
  status: outcome === 'restart' ? 'STATUS_INCOMPATIBLE_STATE' : 'STATUS_OK',
  outcome,
  ...(message === undefined ? {} : { error: { type: 'IncompatibleStateError', message } }),
})
const reason = `DSP2266: the code of checkout changed since this coroutine started (journal version @1, running @2); it must restart from its input ${'x'.repeat(100)}`

describe('formatRestarts', () => {
  it('says nothing for a call that never restarted', () => {
    expect(formatRestarts(call(), [attempt(1, 'poll')])).toEqual([])
  })

  it('lists each restart the history holds with its whole reason, and says both counts', () => {
    expect(formatRestarts(call(1), [attempt(1, 'poll'), attempt(2, 'restart', reason)])).toEqual([
      'restarts:  1 since the last tail call or redrive (started again from its input); 1 in the history below',
      `  #2  2026-11-30T11:50:03.412Z  ${reason}`,
    ])
    // After a redrive the count starts again while the history keeps the earlier restarts.
    expect(formatRestarts(call(0), [attempt(7, 'restart', reason)])[0]).toBe(
      'restarts:  0 since the last tail call or redrive (started again from its input); 1 in the history below',
    )
  })

  it("prints an endpoint's reason without its control characters (no terminal escapes)", () => {
    const lines = formatRestarts(call(1), [
      attempt(2, 'restart', 'DSP2266: bad\u001b[2J\u001b]0;title\u0007 news\r\nnext'),
    ])
    expect(lines[1]).toBe('  #2  2026-11-30T11:50:03.412Z  DSP2266: bad [2J ]0;title news next')
  })
})
