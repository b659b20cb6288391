import { describe, expect, it } from 'vitest'
import { DEFAULT_CALL_POLICIES } from '../../scheduler/calls/retryPolicy.js'
import { toNewCalls } from '../../scheduler/calls/toNewCalls.js'
import { toChildCalls } from '../../scheduler/delivery/toChildCalls.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import type { StoredCall } from '../../scheduler/store/store.js'
import { value } from './helpers.js'

const NOW = 1_700_000_000_000
const ENDPOINT = 'http://127.0.0.1:9/'
const wire = (extra: object = {}) => ({ endpoint: ENDPOINT, function: 'f', input: value([]), ...extra })
const one = (extra: object, policies = DEFAULT_CALL_POLICIES) => toNewCalls({ calls: [wire(extra)] }, policies, NOW)[0]!

describe('debounce at dispatch (docs/flow-control.md)', () => {
  it('makes a call due one window later, with its key, keep (last by default) and latest due time', () => {
    expect(one({ flow: { debounce: { windowMs: 5_000, key: 'u1' } } })).toMatchObject({
      dueAt: NOW + 5_000,
      debounce: { key: 'u1', keep: 'last', windowMs: 5_000, until: undefined },
    })
    expect(one({ flow: { debounce: { windowMs: 5_000, keep: 'first', maxMs: 60_000 } } }).debounce).toEqual({
      key: '',
      keep: 'first',
      windowMs: 5_000,
      until: NOW + 60_000,
    })
    expect(one({}).debounce).toBeUndefined()
  })

  it('gives a debounced call no head start for its priority', () => {
    const policies = { ...DEFAULT_CALL_POLICIES, priorityStepMs: 1000 }
    expect(one({ priority: 5, flow: { debounce: { windowMs: 100 } } }, policies)).toMatchObject({
      dueAt: NOW + 100,
      priority: 5,
    })
  })

  it("takes the scheduler's config over the declaration, the key staying the declared one", () => {
    const policies = { ...DEFAULT_CALL_POLICIES, functions: { f: { debounce: { windowMs: 9_000, keep: 'first' } } } }
    expect(one({ flow: { debounce: { windowMs: 100, key: 'u1', maxMs: 200 } } }, policies as never)).toMatchObject({
      dueAt: NOW + 9_000,
      debounce: { key: 'u1', keep: 'first', windowMs: 9_000, until: undefined },
    })
    expect(one({}, policies as never).debounce).toEqual({ key: '', keep: 'first', windowMs: 9_000, until: undefined })
  })

  it('refuses a debounced call with a delay or notBefore, a max below the window, a NUL in the key', () => {
    const refusal = (extra: object) => {
      try {
        one(extra)
      } catch (error) {
        return (error as Error).message
      }
      return undefined
    }
    const debounce = { windowMs: 1_000 }
    expect(refusal({ delay: '1s', flow: { debounce } })).toMatch(/^DSP3070: call 0: a debounced call takes no delay/)
    expect(refusal({ notBefore: '2030-01-01T00:00:00Z', flow: { debounce } })).toMatch(/^DSP3070/)
    expect(refusal({ flow: { debounce: { windowMs: 1_000, maxMs: 999 } } })).toMatch(
      /^DSP3071: call 0: flow.debounce.maxMs \(999\) is shorter than its windowMs \(1000\)/,
    )
    expect(refusal({ flow: { debounce: { windowMs: 1_000, key: 'a\u0000b' } } })).toMatch(/^DSP3011/)
    expect(refusal({ flow: { debounce: { windowMs: 0 } } })).toMatch(/debounce\/windowMs/)
    expect(refusal({ flow: { debounce: { windowMs: 1_000, keep: 'middle' } } })).toMatch(/debounce\/keep/)
  })

  it("never debounces a Poll's calls: a child awaits its own result", () => {
    const parent = { dispatchId: 'p', endpoint: ENDPOINT, fairnessKey: undefined } as unknown as StoredCall
    const calls = [{ function: 'f', input: value([]), flow: { debounce: { windowMs: 5_000 } } }]
    const children = toChildCalls(parent, calls, DEFAULT_CALL_POLICIES, NOW)
    expect(children.kind).toBe('children')
    if (children.kind !== 'children') return
    expect(children.children[0]).toMatchObject({ dueAt: NOW })
    expect(children.children[0]!.debounce).toBeUndefined()
  })

  it("refuses a debounce in the scheduler's config that is out of range (DSP3005)", () => {
    const refusal = (debounce: unknown) => {
      try {
        resolveSchedulerOptions({ functions: { f: { debounce: debounce as never } } })
      } catch (error) {
        return error as { code?: string; message: string }
      }
      return undefined
    }
    expect(refusal({ windowMs: 1_000, maxMs: 60_000, keep: 'last' })).toBeUndefined()
    for (const bad of [
      { windowMs: 0 },
      { windowMs: 1.5 },
      { windowMs: 1_000, maxMs: 10 },
      { windowMs: 1, keep: 'x' },
      5,
    ]) {
      expect(refusal(bad)).toMatchObject({ code: 'DSP3005', message: expect.stringMatching(/functions\.f\.debounce/) })
    }
  })
})
