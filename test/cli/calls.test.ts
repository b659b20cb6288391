import { CallFailedError, createClient, defineRoutes, PermanentError, tupleSchema } from 'dispatch-functions'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GetStatsResponse } from '../../schemas/callService.js'
import {
  eventually,
  FAST_RETRY,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
} from '../scheduler/helpers.js'
import { runCli } from './runCli.js'

// `dispatch calls ...` and `.call(...)` outside a function, against a real scheduler and endpoint.
const routes = defineRoutes({
  echo: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (text: string) => `echo: ${text}`,
    source: 'test:1',
  },
  refuse: {
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      throw new PermanentError('no, never')
    },
    source: 'test:2',
  },
  hold: {
    input: tupleSchema([]),
    output: undefined,
    // Runs until the test lets it finish, so stats can see an attempt in flight.
    handler: () => new Promise<undefined>((resolve) => releases.push(() => resolve(undefined))),
    source: 'test:3',
  },
})
const releases: (() => void)[] = []

type Functions = {
  echo: { args: [text: string]; output: string }
  refuse: { args: []; output: undefined }
  hold: { args: []; output: undefined }
}

let dir: string
let test: TestScheduler
let stopEndpoint: () => Promise<void>
let client: ReturnType<typeof createClient<Functions>>
let env: Record<string, string>
let endpointUrl: string

beforeAll(async () => {
  dir = await tempFolder('dispatch-calls-')
  // A held attempt must outlast several CLI launches on a slow machine: a timeout would lower the limit.
  test = await startTestScheduler(`${dir}/dispatch.db`, { retry: { ...FAST_RETRY, attemptTimeoutMs: 300_000 } })
  const endpoint = await startEndpoint(routes, test.scheduler.verificationKeyPem)
  stopEndpoint = () => endpoint.app.close()
  endpointUrl = endpoint.url
  const options = { apiUrl: test.scheduler.url, apiKey: test.scheduler.apiKey, endpoint: endpoint.url }
  client = createClient<Functions>({ echo: 1, refuse: 0, hold: 0 }, options)
  env = { DISPATCH_API_URL: test.scheduler.url, DISPATCH_API_KEY: test.scheduler.apiKey }
})

afterAll(async () => {
  for (const release of releases.splice(0)) release()
  await test.scheduler.close()
  await stopEndpoint()
  await removeFolder(dir)
})

describe('.call outside a function', () => {
  it('dispatches and resolves to the output', async () => {
    await expect(client.echo.call('hi')).resolves.toBe('echo: hi')
  })

  it("rejects with the call's error type and message when it fails", async () => {
    const error = await client.refuse.call().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallFailedError)
    expect((error as CallFailedError).errorType).toBe('PermanentError')
    expect((error as CallFailedError).message).toMatch(/failed with STATUS_PERMANENT_ERROR: PermanentError: no, never/)
  })
})

describe('dispatch calls', () => {
  it('get, list and wait report a succeeded call; wait exits 0', async () => {
    const id = await client.echo('cli')
    const waited = await runCli(['calls', 'wait', id, '--json'], env)
    expect(waited.code, waited.stderr).toBe(0)
    expect(JSON.parse(waited.stdout)).toMatchObject({
      dispatchId: id,
      state: 'succeeded',
      output: { value: 'echo: cli' },
    })

    const got = await runCli(['calls', 'get', id], env)
    expect(got.stdout).toMatch(/^state:\s+succeeded$/m)
    expect(got.stdout).toMatch(/^last attempt: STATUS_OK$/m)
    expect(got.stdout).toMatch(/output:\s+"echo: cli"/)

    const listed = await runCli(['calls', 'list', '--function', 'echo', '--json'], env)
    const ids = (JSON.parse(listed.stdout) as { calls: { dispatchId: string }[] }).calls.map((c) => c.dispatchId)
    expect(ids).toContain(id)
  })

  it('list pages with --limit and --cursor, printing the next cursor', async () => {
    const ids = await Promise.all(['p1', 'p2', 'p3'].map((text) => client.echo(text, { delay: '1h' })))
    const seen: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < 5; page++) {
      const args = ['calls', 'list', '--function', 'echo', '--state', 'pending', '--limit', '2']
      const listed = await runCli(cursor === undefined ? args : [...args, '--cursor', cursor], env)
      expect(listed.code, listed.stderr).toBe(0)
      const lines = listed.stdout.trim().split('\n')
      const next = /^next cursor: (\S+)$/.exec(lines[lines.length - 1] ?? '')
      seen.push(...lines.filter((line) => !line.startsWith('next cursor:')).map((line) => line.split(/\s+/)[0]!))
      cursor = next?.[1]
      if (cursor === undefined) break
    }
    expect(seen.sort()).toEqual([...ids].sort())
    const tooMany = await runCli(['calls', 'list', '--limit', '5000'], env)
    expect(tooMany.code).toBe(2)
    expect(tooMany.stderr).toContain('--cursor')
  })

  it('wait exits 1 for a failed call, and redrive runs it again', async () => {
    const id = await client.refuse()
    const waited = await runCli(['calls', 'wait', id], env)
    expect(waited.code).toBe(1)
    expect(waited.stdout).toMatch(/error:\s+PermanentError: no, never/)
    const redriven = await runCli(['calls', 'redrive', id, '--json'], env)
    expect(redriven.code, redriven.stderr).toBe(0)
    expect(JSON.parse(redriven.stdout).state).not.toBe('failed')
    const again = await runCli(['calls', 'wait', id, '--json'], env)
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'failed' })
    expect(JSON.parse(again.stdout).attempts).toBeGreaterThanOrEqual(1)
  })

  it('signal sends a signal with a JSON payload to a live call, and a finished call refuses it', async () => {
    const id = await client.echo('later', { delay: '1h' })
    const sent = await runCli(['calls', 'signal', id, 'approval', '--payload', '{"approved":true}', '--json'], env)
    expect(sent.code, sent.stderr).toBe(0)
    expect(JSON.parse(sent.stdout)).toMatchObject({ dispatchId: id, state: 'pending' })
    await runCli(['calls', 'cancel', id], env)
    const refused = await runCli(['calls', 'signal', id, 'approval'], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/cannot signal approval call .*: it is cancelled/)
  })

  it('wait exits 3 when the wait times out, and cancel stops a pending call', async () => {
    const id = await client.echo('later', { delay: '1h' })
    const waited = await runCli(['calls', 'wait', id, '--timeout', '200ms'], env)
    expect(waited.code).toBe(3)
    const cancelled = await runCli(['calls', 'cancel', id, '--json'], env)
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ dispatchId: id, state: 'cancelled' })
  })

  it("stats shows each endpoint's adaptive concurrency: in flight, limit, bounds (--json and text)", async () => {
    const origin = new URL(endpointUrl).origin
    const id = await client.hold()
    // The held attempt is in flight until released: stats must show it on its endpoint.
    await eventually(async () => {
      const stats = await test.calls.stats()
      return stats.endpoints.find((e) => e.endpoint === origin)?.inFlight === 1 ? true : undefined
    }, 20_000)
    const json = await runCli(['calls', 'stats', '--json'], env)
    expect(json.code, json.stderr).toBe(0)
    const stats = JSON.parse(json.stdout) as GetStatsResponse
    expect(stats.endpoints).toContainEqual({
      endpoint: origin,
      limit: 32,
      min: 1,
      max: 100,
      inFlight: 1,
    })
    expect(stats.inFlight).toBe(1)
    expect(stats.unfinishedCalls).toBeGreaterThanOrEqual(1)
    expect(stats.calls).toContainEqual({ function: 'hold', state: 'running', count: 1, retrying: 0 })

    const text = await runCli(['calls', 'stats'], env)
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain('hold: 0 pending, 1 running, 0 succeeded, 0 failed')
    expect(text.stdout).toContain(`${origin}: 1 in flight, limit 32 (bounds 1-100)`)
    expect(text.stdout).toMatch(/load: 1 attempts in flight, \d+ unfinished calls, 0 awaiting commit/)

    for (const release of releases.splice(0)) release()
    expect((await test.calls.wait(id, '20s')).call.state).toBe('succeeded')
    const after = await test.calls.stats()
    expect(after.endpoints.find((e) => e.endpoint === origin)?.inFlight).toBe(0)
  })

  it('reports a wrong API key and an unknown id as errors (exit 1) with a hint', async () => {
    const wrongKey = await runCli(['calls', 'get', 'x', '--api-key', 'wrong'], env)
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toMatch(
      /HTTP 401[\s\S]*hint: DISPATCH_API_KEY is not the key this scheduler accepts: eval "\$\(npx dispatch env\)"/,
    )
    expect(wrongKey.stderr).not.toContain(test.scheduler.apiKey)
    const unknown = await runCli(['calls', 'get', 'no-such-id'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/HTTP 404/)
  })
})
