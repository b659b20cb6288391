import { describe, expect, it } from 'vitest'
import { formatAny } from '../../cli/formatAny.js'

describe('formatAny', () => {
  it('shows a value as its JSON', () => {
    expect(formatAny({ '@type': 'type.googleapis.com/google.protobuf.Value', value: { n: 1 } })).toBe('{"n":1}')
  })

  it('shows a type it cannot read as its type URL and size', () => {
    const pickled = 'buf.build/stealthrocket/dispatch-proto/dispatch.sdk.python.v1.Pickled'
    expect(formatAny({ '@type': pickled, '@bytes': 'AQID' })).toBe(`${pickled} (3 bytes)`)
  })
})
