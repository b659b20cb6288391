import { Type as Type034 } from '@sinclair/typebox'
import { createClient, currentCall, defineRoutes, tailCall, tupleSchema } from 'dispatch-functions'
import { Type } from 'typebox'

/** How many times a handler ran: refused requests must leave it unchanged. */
export const calls = { count: 0 }

const other = createClient<{ add: { args: [number, number]; output: number } }>(
  { add: 2 },
  { endpoint: 'http://other.test:9000' },
)
const local = createClient<{ add: { args: [number, number]; output: number } }>({ add: 2 })

/** Something that throws what it is given, so each test chooses the error. */
export const thrower = { next: (): unknown => new Error('unset') }

export const routes = defineRoutes({
  add: {
    input: tupleSchema([Type.Number(), Type.Number()]),
    output: Type.Number(),
    handler: (a: number, b: number) => {
      calls.count++
      return a + b
    },
    source: 'test/add.ts:1',
  },
  greet: {
    input: tupleSchema([Type.String({ minLength: 1 }), Type.String()], 1),
    output: Type.String(),
    handler: async (name: string, greeting = 'hello') => `${greeting} ${name}`,
    source: 'test/greet.ts:1',
  },
  publish: {
    input: tupleSchema([
      Type.String({ format: 'uri' }),
      Type.Object({ n: Type.Integer({ minimum: 0 }), tags: Type.Array(Type.String()) }),
    ]),
    output: undefined,
    handler: () => undefined,
    source: 'test/publish.ts:1',
  },
  legacy: {
    // TypeBox 0.34 schemas carry symbol keys: they must compile and validate the same.
    input: tupleSchema([Type034.Object({ id: Type034.String({ format: 'uuid' }) })]),
    output: Type034.String(),
    handler: (o: { id: string }) => o.id,
    source: 'test/legacy.ts:1',
  },
  fail: {
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      throw await thrower.next()
    },
    source: 'test/fail.ts:1',
  },
  badOutput: {
    input: tupleSchema([]),
    output: Type.Object({ ok: Type.Boolean() }),
    handler: () => ({ ok: 'yes' }),
    source: 'test/badOutput.ts:1',
  },
  notJson: {
    input: tupleSchema([]),
    output: undefined,
    handler: () => 10n,
    source: 'test/notJson.ts:1',
  },
  context: {
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      await Promise.resolve()
      const c = currentCall()
      return {
        function: c.function,
        dispatchId: c.dispatchId,
        parentDispatchId: c.parentDispatchId,
        rootDispatchId: c.rootDispatchId,
        creationTime: c.creationTime?.toISOString(),
        expirationTime: c.expirationTime?.toISOString(),
        aborted: c.signal.aborted,
      }
    },
    source: 'test/context.ts:1',
  },
  waitForExpiration: {
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      const { signal } = currentCall()
      await new Promise((_, reject) => {
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
      })
    },
    source: 'test/waitForExpiration.ts:1',
  },
  tailOther: {
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    handler: async (n: number): Promise<number> => tailCall(other.add.build(n, 1, { expiration: '10s' })),
    source: 'test/tail.ts:1',
  },
  tailLocal: {
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    handler: (n: number): number => tailCall(local.add.build(n, 2)),
    source: 'test/tail.ts:2',
  },
})
