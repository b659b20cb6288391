import type { CallInfo } from 'dispatch-functions/protocol'
import { describe, expect, it } from 'vitest'
import { formatDebounce } from '../../cli/formatDebounce.js'

// What `dispatch calls get` says of a debounced call (the Get it reads: test/scheduler/debounce.test.ts).

const call = (overrides: Partial<CallInfo>): CallInfo => ({
  dispatchId: '01m8p4bzax53magat3r2eqhvh1',
  function: 'reindex',
  endpoint: 'http://127.0.0.1:1',
  state: 'pending',
  attempts: 0,
  createdAt: '2026-11-30T11:50:00.000Z',
  updatedAt: '2026-11-30T11:50:03.412Z',
  nextAttemptAt: '2026-11-30T11:50:08.412Z',
  ...overrides,
})

describe('calls get: debounce', () => {
  it('says a call in its window waits, debounced until its due time, and the latest it may start', () => {
    const shown = formatDebounce(
      call({
        waiting: 'debounced',
        debounce: { key: 'u1', keep: 'last', windowMs: 5_000, until: '2026-11-30T11:51:00.000Z', dispatches: 3 },
      }),
    )
    expect(shown).toEqual({
      waiting:
        'debounced until 2026-11-30T11:50:08.412Z (a call of its key dispatched before then collapses into it and pushes it back, at the latest 2026-11-30T11:51:00.000Z)',
      debounce: '5s for key "u1", keeps the last input; it stands for 3 dispatches',
    })
  })

  it('after its window only the debounce is shown; the function-wide key and windows in ms read plainly', () => {
    const shown = formatDebounce(
      call({ state: 'succeeded', debounce: { key: '', keep: 'first', windowMs: 250, dispatches: 1 } }),
    )
    expect(shown).toEqual({
      waiting: undefined,
      debounce: '250ms for all calls of the function, keeps the first input; no other call collapsed into it',
    })
    expect(formatDebounce(call({ waiting: 'queued' }))).toEqual({ waiting: undefined, debounce: undefined })
  })
})
