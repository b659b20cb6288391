import { join } from 'node:path'
import { createClient, defineRoutes, tupleSchema } from 'dispatch-functions'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
} from '../scheduler/helpers.js'
import { runCli } from './runCli.js'

// `dispatch calls purge` and `--retention`, against a real scheduler (retention off, so only the purge deletes).
const routes = defineRoutes({
  echo: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (text: string) => text,
    source: 'test/cli/purge.test.ts:1',
  },
})

let dir: string
let test: TestScheduler
let stopEndpoint: () => Promise<void>
let env: Record<string, string>
type Functions = { echo: { args: [text: string]; output: string } }
let client: ReturnType<typeof createClient<Functions>>

beforeAll(async () => {
  dir = await tempFolder('dispatch-purge-')
  test = await startTestScheduler(join(dir, 'dispatch.db'), { retention: false })
  const endpoint = await startEndpoint(routes, test.scheduler.verificationKeyPem)
  stopEndpoint = () => endpoint.app.close()
  client = createClient<Functions>(
    { echo: 1 },
    { apiUrl: test.scheduler.url, apiKey: test.scheduler.apiKey, endpoint: endpoint.url },
  )
  env = { DISPATCH_API_URL: test.scheduler.url, DISPATCH_API_KEY: test.scheduler.apiKey }
})
afterAll(async () => {
  await test.scheduler.close()
  await stopEndpoint()
  await removeFolder(dir)
})

describe('dispatch calls purge', () => {
  it('deletes the finished calls older than --older-than, prints how many, and keeps the rest', async () => {
    const ids = await Promise.all(['a', 'b', 'c'].map((text) => client.echo(text)))
    for (const id of ids) await test.settle(id)
    const kept = await test.dispatch([
      { function: 'echo', endpoint: 'http://127.0.0.1:1', input: { '@type': 'x' }, delay: '3600s' },
    ])

    const young = await runCli(['calls', 'purge', '--older-than', '1h'], env)
    expect(young.code, young.stderr).toBe(0)
    expect(young.stdout).toBe('deleted 0 finished calls older than 1h\n')

    const all = await runCli(['calls', 'purge', '--older-than', '0s', '--json'], env)
    expect(all.code, all.stderr).toBe(0)
    expect(JSON.parse(all.stdout)).toEqual({ deleted: 3 })
    for (const id of ids) await expect(test.calls.get(id)).rejects.toThrow(/not_found|no call/)
    expect((await test.calls.get(kept[0]!)).state).toBe('pending')
  })

  it('answers Purge with a count for a Duration in range, and refuses a negative or out-of-range one (400)', async () => {
    const purge = (olderThan: unknown) =>
      test.post('/dispatch.scheduler.v1.CallService/Purge', olderThan === undefined ? {} : { olderThan })
    // Durations are range-checked where they enter, the CallService included.
    expect(await purge('99999999999999999999s')).toMatchObject({ status: 400, body: { message: /^DSP3010: / } })
    expect(await purge('315360000s')).toEqual({ status: 200, body: { deleted: 0 } })
    expect(await purge('0.0001s')).toMatchObject({ status: 200 })
    expect((await purge('-1s')).status).toBe(400)
    expect((await purge(undefined)).status).toBe(400)
    expect((await purge('soon')).status).toBe(400)
  })

  it('needs --older-than as a duration (exit 2)', async () => {
    expect((await runCli(['calls', 'purge'], env)).code).toBe(2)
    const bad = await runCli(['calls', 'purge', '--older-than', 'soon'], env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('not a duration')
  })
})

describe('--retention', () => {
  it('refuses a value that is not a duration or off (exit 2)', async () => {
    const result = await runCli(['scheduler', '--retention', 'forever', '--port', '0', '--db', join(dir, 'r.db')])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('not a retention')
    const run = await runCli(['run', '--retention', '-1d', '--port', '0', '--db', join(dir, 'r.db'), '--', 'true'])
    expect(run.code).toBe(2)
  })
})
