import type { CallOptions } from 'dispatch-functions'
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  createDispatchClient,
  dispatchBatch,
  dispatchClient,
} from '../fixtures/codegen/supported/src/dispatch.gen/client.gen.js'

// The generated client of the `supported` fixture (committed, checked fresh by generate.test.ts).
describe('generated client types', () => {
  it('types every argument and output', () => {
    expectTypeOf(dispatchClient.publish).toBeCallableWith('https://x.test', { n: 1, message: 'm' })
    expectTypeOf(dispatchClient.publish).toBeCallableWith('https://x.test')
    expectTypeOf(dispatchClient.publish).toBeCallableWith('https://x.test', undefined, { idempotencyKey: 'k' })
    expectTypeOf(dispatchClient.publish).returns.toEqualTypeOf<Promise<string>>()
    expectTypeOf(dispatchClient.publish.call).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf(dispatchClient.getUser.call).parameters.toEqualTypeOf<[id: string, options?: CallOptions]>()
    expectTypeOf(dispatchClient.getUser.call).toBeCallableWith('1', { maxAttempts: 3, delay: '10s' })
    expectTypeOf(dispatchClient.getUser.call).returns.toEqualTypeOf<Promise<{ id: string; name: string }>>()
    expectTypeOf(dispatchClient.placeOrder.call).parameters.toEqualTypeOf<
      [order: { sku: string; quantity: number }, options?: CallOptions]
    >()
    expectTypeOf(dispatchClient.placeOrder.call).returns.toEqualTypeOf<Promise<{ orderId: string; total: number }>>()
    expectTypeOf(dispatchClient.increment.call).toBeCallableWith(1)
    expectTypeOf(dispatchClient.increment.call).returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf(createDispatchClient({ endpoint: 'http://127.0.0.1:1' })).toEqualTypeOf(dispatchClient)
    expectTypeOf(dispatchBatch).toBeCallableWith([dispatchClient.getUser.build('1'), dispatchClient.publish.build('u')])
  })

  it('rejects misuse at compile time', () => {
    // @ts-expect-error: wrong argument type
    void (() => dispatchClient.getUser(1))
    // @ts-expect-error: wrong argument shape
    void (() => dispatchClient.placeOrder.call({ sku: 'a' }))
    // @ts-expect-error: missing argument
    void (() => dispatchClient.publish())
    // @ts-expect-error: too many arguments for .call (the second is its options)
    void (() => dispatchClient.getUser.call('1', '2'))
    // @ts-expect-error: not an option of a call
    void (() => dispatchClient.getUser.call('1', { retries: 2 }))
    // @ts-expect-error: unknown function
    void (() => dispatchClient.nope('x'))
    // @ts-expect-error: the output is not what the schema says
    void (async (): Promise<string> => dispatchClient.getUser.call('1'))
  })

  it('builds members at run time from names and arities', () => {
    expect(Object.keys(dispatchClient).sort()).toEqual(['countUsers', 'getUser', 'increment', 'placeOrder', 'publish'])
    expect(dispatchClient.increment.build(1, undefined, { idempotencyKey: 'k' })).toMatchObject({
      function: 'increment',
      args: [1, undefined],
      options: { idempotencyKey: 'k' },
    })
  })
})
