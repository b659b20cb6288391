import { type CallOptions, createClient } from 'dispatch-functions'
import { describe, expectTypeOf, it } from 'vitest'

describe('createClient types', () => {
  const client = createClient<{
    publish: { args: [url: string, payload?: { n: number }]; output: undefined }
    getUser: { args: [id: string]; output: { name: string } }
  }>({ publish: 2, getUser: 1 }, { endpoint: 'http://127.0.0.1:1' })

  it('types arguments, options and outputs', () => {
    expectTypeOf(client.getUser).returns.toEqualTypeOf<Promise<string>>()
    expectTypeOf(client.getUser.call).returns.toEqualTypeOf<Promise<{ name: string }>>()
    expectTypeOf(client.getUser.call).parameters.toEqualTypeOf<[id: string, options?: CallOptions]>()
    expectTypeOf(client.getUser.call).toBeCallableWith('1', { expiration: '1m', idempotencyKey: 'k' })
    expectTypeOf(client.publish).toBeCallableWith('u')
    expectTypeOf(client.publish).toBeCallableWith('u', { n: 1 })
    expectTypeOf(client.publish).toBeCallableWith('u', undefined, { idempotencyKey: 'k' })
  })

  it('rejects misuse at compile time', () => {
    // @ts-expect-error: wrong argument type
    void (() => client.getUser(1))
    // @ts-expect-error: missing argument
    void (() => client.getUser.call())
    // @ts-expect-error: unknown function
    void (() => client.nope('x'))
  })
})
