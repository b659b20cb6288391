import {
  type CallContext,
  createClient,
  currentCall,
  type ErrorClassifier,
  errorClassifier,
  type FunctionError,
  PermanentError,
  type Status,
  tailCall,
} from 'dispatch-functions'
import type { DispatchPluginOptions } from 'dispatch-functions/fastify'
import { describe, expectTypeOf, it } from 'vitest'

describe('endpoint API types', () => {
  it('tailCall is never, so it fits any return type', () => {
    const client = createClient<{ step: { args: [n: number]; output: number } }>({ step: 1 })
    expectTypeOf(tailCall).returns.toBeNever()
    const step = (n: number): number => (n > 3 ? n : tailCall(client.step.build(n + 1)))
    expectTypeOf(step).returns.toEqualTypeOf<number>()
  })

  it('currentCall exposes the context fields', () => {
    expectTypeOf(currentCall).returns.toEqualTypeOf<CallContext>()
    expectTypeOf<CallContext['signal']>().toEqualTypeOf<AbortSignal>()
    expectTypeOf<CallContext['expirationTime']>().toEqualTypeOf<Date | undefined>()
    expectTypeOf<CallContext['dispatchId']>().toEqualTypeOf<string | undefined>()
  })

  it('error classes carry their status; classifier functions see the error type', () => {
    expectTypeOf(new PermanentError('x')).toMatchTypeOf<FunctionError>()
    expectTypeOf<FunctionError['status']>().toEqualTypeOf<Status>()
    class E extends Error {
      retry = true
    }
    errorClassifier(E, (e) => {
      expectTypeOf(e).toEqualTypeOf<E>()
      return e.retry ? undefined : 'STATUS_PERMANENT_ERROR'
    })
    expectTypeOf<DispatchPluginOptions['classifiers']>().toEqualTypeOf<readonly ErrorClassifier[] | undefined>()
  })
})
