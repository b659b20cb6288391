import { describe, expect, it } from 'vitest'
import { readFlowKey } from '../../runtime/client/flowDeclaration.js'

describe('flow keys read from a call input', () => {
  const key = { arg: 0, path: ['accountId'] }

  it('reads strings, numbers and booleans; a missing key is the empty key', () => {
    expect(readFlowKey('sync', [{ accountId: 'a1' }], key)).toBe('a1')
    expect(readFlowKey('sync', [{ accountId: 7 }], key)).toBe('7')
    expect(readFlowKey('sync', [{ accountId: true }], key)).toBe('true')
    expect(readFlowKey('sync', [{}], key)).toBe('')
    expect(readFlowKey('sync', [null], key)).toBe('')
  })

  it.each([
    [{ x: 1 }, 'is an object'],
    [[1], 'is an array'],
    ['k'.repeat(10_000), 'is 10000 characters long'],
  ])('refuses %j with DSP2011 saying what it is and where', (value, said) => {
    let thrown: unknown
    try {
      readFlowKey('sync', [{ accountId: value }], key)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toMatchObject({ code: 'DSP2011' })
    expect((thrown as Error).message).toContain(`sync: the flow key (argument 0.accountId) ${said}`)
  })
})
