import { all, createClient, defineRoutes, sleep, TemporaryError, tupleSchema } from 'dispatch-functions'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from '../scheduler/helpers.js'
import { runCli } from './runCli.js'

// `dispatch calls get` shows the attempt history, `calls list --parent` a coroutine's children, and
// states and statuses are labelled the same way everywhere.
const children = createClient<{ leaf: { args: [number]; output: number } }>({ leaf: 1 })
const failuresLeft = new Map<string, number>()
const routes = defineRoutes({
  flaky: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (key: string) => {
      const left = failuresLeft.get(key) ?? 2
      failuresLeft.set(key, left - 1)
      if (left > 0) throw new TemporaryError(`not yet (${left} to go)`)
      return `done ${key}`
    },
    source: 'test:1',
  },
  leaf: {
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    handler: async (n: number) => n * 2,
    source: 'test:2',
  },
  fanOut: {
    input: tupleSchema([]),
    output: Type.Number(),
    handler: async () => (await all([children.leaf.call(1), children.leaf.call(2)])).reduce((a, b) => a + b, 0),
    source: 'test:3',
  },
  napper: {
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      await sleep('1h')
      return undefined
    },
    source: 'test:4',
  },
})

let dir: string
let test: TestScheduler
let endpoint: { url: string; app: FastifyInstance }
let env: Record<string, string>
beforeAll(async () => {
  dir = await tempFolder('dispatch-inspect-')
  test = await startTestScheduler(`${dir}/dispatch.db`)
  endpoint = await startEndpoint(routes, test.scheduler.verificationKeyPem)
  env = { DISPATCH_API_URL: test.scheduler.url, DISPATCH_API_KEY: test.scheduler.apiKey }
})
afterAll(async () => {
  await endpoint.app.close()
  await test.scheduler.close()
  await removeFolder(dir)
})

const dispatch = async (fn: string, args: unknown[]) =>
  (await test.dispatch([{ endpoint: endpoint.url, function: fn, input: value(args) }]))[0]!

describe('dispatch calls: inspection', () => {
  it('get shows each attempt: start, duration, status, outcome and an error excerpt', async () => {
    const id = await dispatch('flaky', ['a'])
    expect((await test.settle(id)).state).toBe('succeeded')
    const got = await runCli(['calls', 'get', id], env)
    expect(got.code, got.stderr).toBe(0)
    expect(got.stdout).toMatch(/^state:\s+succeeded$/m)
    expect(got.stdout).toMatch(/^attempts:\s+3$/m)
    expect(got.stdout).toMatch(/^last attempt: STATUS_OK$/m)
    expect(got.stdout).toMatch(/history: +last 3 attempts, oldest first/)
    const iso = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z'
    expect(got.stdout).toMatch(
      new RegExp(
        `^  #1 +${iso} +\\d+ ms +STATUS_TEMPORARY_ERROR +retried +TemporaryError: not yet \\(2 to go\\)$`,
        'm',
      ),
    )
    expect(got.stdout).toMatch(
      new RegExp(`^  #2 +${iso} +\\d+ ms +STATUS_TEMPORARY_ERROR +retried +TemporaryError`, 'm'),
    )
    expect(got.stdout).toMatch(new RegExp(`^  #3 +${iso} +\\d+ ms +STATUS_OK +succeeded$`, 'm'))

    const json = JSON.parse((await runCli(['calls', 'get', id, '--json'], env)).stdout)
    expect(json).toMatchObject({ dispatchId: id, state: 'succeeded', attempts: 3 })
    expect(json.attemptHistory.map((a: { outcome: string }) => a.outcome)).toEqual(['retry', 'retry', 'succeeded'])
  })

  it("list --parent lists a coroutine's children", async () => {
    const id = await dispatch('fanOut', [])
    const done = await test.settle(id)
    expect(done.output?.value).toBe(6)
    const listed = await runCli(['calls', 'list', '--parent', id, '--json'], env)
    expect(listed.code, listed.stderr).toBe(0)
    const calls = JSON.parse(listed.stdout).calls as { function: string; parentDispatchId: string; state: string }[]
    expect(calls).toHaveLength(2)
    for (const call of calls) expect(call).toMatchObject({ function: 'leaf', parentDispatchId: id, state: 'succeeded' })
    const text = await runCli(['calls', 'list', '--parent', id], env)
    expect(text.stdout.trim().split('\n')).toHaveLength(2)
    const none = await runCli(['calls', 'list', '--parent', 'no-such-parent'], env)
    expect(none.stdout).toBe('no calls\n')

    // The coroutine's history: the turns that suspended it, then the one that succeeded.
    const history = JSON.parse((await runCli(['calls', 'get', id, '--json'], env)).stdout).attemptHistory
    expect(history.at(0).outcome).toBe('poll')
    expect(history.at(-1).outcome).toBe('succeeded')
  })

  it('labels a suspended and a cancelled coroutine by state, the last status on its own line', async () => {
    const id = await dispatch('napper', [])
    let got = await runCli(['calls', 'get', id], env)
    for (const deadline = Date.now() + 30_000; !/^state:\s+suspended$/m.test(got.stdout); ) {
      if (Date.now() > deadline) throw new Error(`never suspended:\n${got.stdout}`)
      got = await runCli(['calls', 'get', id], env)
    }
    expect(got.stdout).toMatch(/^attempts:\s+0 \(between turns: a coroutine counts per turn\)$/m)
    expect(got.stdout).toMatch(/^ {2}#1 .* STATUS_OK +suspended$/m)
    await runCli(['calls', 'cancel', id], env)
    const cancelled = await runCli(['calls', 'get', id], env)
    expect(cancelled.stdout).toMatch(/^state:\s+cancelled$/m)
    expect(cancelled.stdout).toMatch(/^last attempt: STATUS_OK$/m)
    expect(cancelled.stdout).not.toMatch(/cancelled \(STATUS_OK\)/)
  })
})
