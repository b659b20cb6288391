import {
  all,
  allSettled,
  any,
  CallFailedError,
  createClient,
  defineRoutes,
  FunctionError,
  now,
  PermanentError,
  race,
  random,
  sleep,
  tailCall,
  tupleSchema,
  uuid,
} from 'dispatch-functions'
import { Type } from 'typebox'

type Tree = string | [string, Tree[]]

/** The client the coroutines below use on each other (no endpoint: children go where the parent runs). */
export const client = createClient<{
  double: { args: [number]; output: number }
  fail: { args: [string, string]; output: never }
  tree: { args: [number, string]; output: Tree }
  sumDoubles: { args: [number[]]; output: number }
  mergeSort: { args: [number[]]; output: number[] }
  echo: { args: [string]; output: string }
}>({ double: 1, fail: 2, tree: 2, sumDoubles: 1, mergeSort: 1, echo: 1 })

/** Test switches and observations shared with the tests. */
export const state = {
  diverge: false,
  journaled: [] as [number, number, string][],
}

class CardDeclined extends FunctionError {
  constructor(message: string) {
    super('STATUS_PERMANENT_ERROR', message)
    this.name = 'CardDeclined'
  }
}

/** An outcome spec for the combinator tests: `ok:N` doubles N, `fail:T` fails with error type T. */
function start(spec: string): Promise<number> {
  const [kind, arg] = spec.split(':') as [string, string]
  return kind === 'ok' ? client.double.call(Number(arg)) : client.fail.call(arg, `${arg} happened`)
}

function describeError(error: unknown): unknown {
  if (error instanceof AggregateError) return { aggregate: error.errors.map(describeError) }
  if (error instanceof CallFailedError) return { type: error.errorType, message: error.errorMessage }
  return { other: String(error) }
}

function merge(left: number[], right: number[]): number[] {
  const out: number[] = []
  let i = 0
  let j = 0
  while (i < left.length && j < right.length) out.push(left[i]! <= right[j]! ? left[i++]! : right[j++]!)
  return out.concat(left.slice(i), right.slice(j))
}

const SOURCE = 'test/runtime/helpers/coroutineRoutes.ts'
const Numbers = Type.Array(Type.Number())
const Specs = Type.Array(Type.String())

export const coroutineRoutes = defineRoutes({
  double: { source: SOURCE, input: tupleSchema([Type.Number()]), output: Type.Number(), handler: (n: number) => n * 2 },
  echo: { source: SOURCE, input: tupleSchema([Type.String()]), output: Type.String(), handler: (s: string) => s },
  fail: {
    source: SOURCE,
    input: tupleSchema([Type.String(), Type.String()]),
    output: undefined,
    handler: (type: string, message: string) => {
      if (type === 'CardDeclined') throw new CardDeclined(message)
      const error = new PermanentError(message)
      error.name = type
      throw error
    },
  },
  tree: {
    source: SOURCE,
    input: tupleSchema([Type.Integer({ minimum: 0 }), Type.String()]),
    output: undefined,
    handler: async (depth: number, label: string): Promise<Tree> => {
      if (depth === 0) return label
      const kids = await all([client.tree.call(depth - 1, `${label}a`), client.tree.call(depth - 1, `${label}b`)])
      return [label, kids]
    },
  },
  sumDoubles: {
    source: SOURCE,
    input: tupleSchema([Numbers]),
    output: Type.Number(),
    handler: async (ns: number[]) => (await all(ns.map((n) => client.double.call(n)))).reduce((a, b) => a + b, 0),
  },
  dag: {
    source: SOURCE,
    input: tupleSchema([Type.Integer()]),
    output: undefined,
    handler: async (n: number) => {
      const [a, b] = await all([client.double.call(n), client.sumDoubles.call([n, n + 1, n + 2])])
      const later = client.double.call(a + b)
      const t = await client.tree.call(2, `n${n}`)
      const [s, e] = await all([client.sumDoubles.call([a, b]), later])
      return { a, b, t, s, e }
    },
  },
  combinator: {
    source: SOURCE,
    input: tupleSchema([Type.Union([Type.Literal('all'), Type.Literal('any'), Type.Literal('race')]), Specs]),
    output: undefined,
    handler: async (which: 'all' | 'any' | 'race', specs: string[]) => {
      const started = specs.map(start)
      try {
        const value = which === 'all' ? await all(started) : which === 'any' ? await any(started) : await race(started)
        return { value }
      } catch (error) {
        return { error: describeError(error) }
      }
    },
  },
  settled: {
    source: SOURCE,
    input: tupleSchema([Specs]),
    output: undefined,
    handler: async (specs: string[]) =>
      (await allSettled(specs.map(start))).map((r) =>
        r.status === 'fulfilled' ? { ok: r.value } : { failed: describeError(r.reason) },
      ),
  },
  catcher: {
    source: SOURCE,
    input: tupleSchema([Type.Boolean()]),
    output: undefined,
    handler: async (rethrow: boolean) => {
      try {
        await client.fail.call('CardDeclined', 'insufficient funds')
        return 'unreachable'
      } catch (error) {
        if (rethrow) throw error
        return {
          callFailed: error instanceof CallFailedError,
          type: (error as CallFailedError).errorType,
          message: (error as CallFailedError).errorMessage,
        }
      }
    },
  },
  fanout: {
    source: SOURCE,
    input: tupleSchema([Type.Integer({ minimum: 0 }), Type.Boolean()]),
    output: Type.Number(),
    handler: async (n: number, plain: boolean) => {
      const started = Array.from({ length: n }, (_, i) => client.double.call(i))
      const values = plain ? await Promise.all(started) : await all(started)
      return values.reduce((a, b) => a + b, 0)
    },
  },
  tailer: {
    source: SOURCE,
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    handler: async (n: number) => {
      const x = await client.double.call(n)
      return tailCall(client.double.build(x))
    },
  },
  mergeSort: {
    source: SOURCE,
    input: tupleSchema([Numbers]),
    output: Numbers,
    handler: async (values: number[]): Promise<number[]> => {
      if (values.length <= 1) return values
      const middle = Math.floor(values.length / 2)
      const [left, right] = await all([
        client.mergeSort.call(values.slice(0, middle)),
        client.mergeSort.call(values.slice(middle)),
      ])
      return merge(left, right)
    },
  },
  diverging: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      await (state.diverge ? client.echo.call('x') : client.double.call(1))
      return 'done'
    },
  },
  journaled: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      const seen: [number, number, string] = [now().getTime(), random(), uuid()]
      state.journaled.push(seen)
      await client.double.call(1)
      return seen
    },
  },
  sleeper: {
    source: SOURCE,
    input: tupleSchema([Type.Integer({ minimum: 0 })]),
    output: Type.Number(),
    handler: async (ms: number) => {
      const started = now().getTime()
      await sleep(ms)
      return Date.now() - started
    },
  },
  raceTimer: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    handler: async () => race([client.double.call(21), sleep('1h').then(() => 'timeout')]),
  },
  hoarder: {
    source: SOURCE,
    input: tupleSchema([Type.Integer()]),
    output: undefined,
    handler: async (n: number) => {
      const big = await client.echo.call('x'.repeat(n))
      return big.length + (await client.double.call(1))
    },
  },
  forgetful: {
    source: SOURCE,
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      void client.fail.call('Ignored', 'nobody awaits this')
      return (await client.double.call(2)) + 1
    },
  },
})
