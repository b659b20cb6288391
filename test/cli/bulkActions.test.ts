import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { defineRoutes, PermanentError, tupleSchema } from 'dispatch-functions'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import {
  eventually,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from '../scheduler/helpers.js'
import { POSTGRES_TEST_URL } from '../scheduler/postgresTestUrl.js'
import { scriptCommand } from '../scriptCommand.js'
import { repoRoot, runCli } from './runCli.js'

/**
 * Runs the CLI on a terminal (util-linux `script` gives it a pseudo-terminal), answers `answer` to
 * its question once asked, and resolves to what the terminal showed.
 */
function runCliOnTerminal(args: string[], env: Record<string, string>, answer: string): Promise<string> {
  const command = [process.execPath, ...scriptCommand('cli/main.ts'), ...args].map((a) => `'${a}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: repoRoot, env: { ...process.env, ...env } })
    let screen = ''
    let answered = false
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      screen += text
      if (!answered && screen.includes('[y/N]')) {
        answered = true
        child.stdin.write(`${answer}\n`)
      }
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the CLI did not finish on its terminal:\n${screen}`))
    }, 120_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(screen)
    })
  })
}

// Bulk cancel and redrive by filter: the CallService's CancelMany / RedriveMany and
// `dispatch calls cancel|redrive --state … --function …`, against a real scheduler on each store.
const routes = defineRoutes({
  refuse: {
    input: tupleSchema([Type.String()]),
    output: undefined,
    handler: async () => {
      throw new PermanentError('no, never')
    },
    source: 'test:1',
  },
  echo: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (text: string) => text,
    source: 'test:2',
  },
})

const CANCEL_MANY = '/dispatch.scheduler.v1.CallService/CancelMany'
const REDRIVE_MANY = '/dispatch.scheduler.v1.CallService/RedriveMany'

describe.each(['SQLite', 'PostgreSQL'])('bulk cancel and redrive by filter on %s', (storeName) => {
  const schema = `dispatch_test_bulk_${randomBytes(4).toString('hex')}`
  let dir: string
  let t: TestScheduler
  let endpointUrl: string
  let closeEndpoint: () => Promise<void>
  let env: Record<string, string>

  beforeAll(async () => {
    dir = await tempFolder('dispatch-bulk-')
    t = await startTestScheduler(
      `${dir}/dispatch.db`,
      storeName === 'PostgreSQL' ? { postgres: { url: POSTGRES_TEST_URL, schema, poolSize: 4 } } : {},
    )
    const endpoint = await startEndpoint(routes, t.scheduler.verificationKeyPem)
    endpointUrl = endpoint.url
    closeEndpoint = () => endpoint.app.close()
    env = { DISPATCH_API_URL: t.scheduler.url, DISPATCH_API_KEY: t.scheduler.apiKey }
  })

  afterAll(async () => {
    await t.scheduler.close()
    await closeEndpoint()
    await removeFolder(dir)
    if (storeName === 'PostgreSQL') {
      const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await store.dropSchema()
      await store.close()
    }
  })

  // The CLI's code is the same over both stores: its cases run on SQLite, the API's on both.
  const cliIt = storeName === 'SQLite' ? it : it.skip

  const dispatch = (fn: string, text: string, extra: Record<string, unknown> = {}) =>
    t.dispatch([{ endpoint: endpointUrl, function: fn, input: value([text]), ...extra }])

  it('refuses a bulk action without a filter, or with a state it cannot change', async () => {
    const none = await t.post(CANCEL_MANY, {})
    expect(none.status).toBe(400)
    expect(none.body.message).toMatch(/DSP3042: a bulk cancel needs at least one filter/)
    const wrongState = await t.post(REDRIVE_MANY, { state: 'pending' })
    expect(wrongState.status).toBe(400)
    expect(wrongState.body.message).toMatch(/DSP3042: no pending call can be redriven: only failed, cancelled/)
    const badTime = await t.post(CANCEL_MANY, { createdAfter: 'yesterday' })
    expect(badTime.status).toBe(400)
    const noKey = await t.post(CANCEL_MANY, { function: 'echo' }, null)
    expect(noKey.status).toBe(401)
  })

  it('API: a dry run counts, then pages of CancelMany cancel only the matching live calls', async () => {
    const held = await Promise.all(['a', 'b', 'c'].map((x) => dispatch('echo', `held-${x}`, { delay: '3600s' })))
    const other = await dispatch('refuse', 'other', { delay: '3600s' })
    const dry = await t.post(CANCEL_MANY, { function: 'echo', state: 'pending', dryRun: true })
    expect(dry.body).toEqual({ matched: 3, changed: 0 })
    expect((await t.calls.get(held.flat()[0]!)).state).toBe('pending')

    let cancelled = 0
    let cursor: string | undefined
    do {
      const page = await t.post(CANCEL_MANY, {
        function: 'echo',
        state: 'pending',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      })
      expect(page.status, JSON.stringify(page.body)).toBe(200)
      cancelled += page.body.changed
      cursor = page.body.nextCursor
    } while (cursor !== undefined)
    expect(cancelled).toBe(3)
    for (const id of held.flat()) expect((await t.calls.get(id)).state).toBe('cancelled')
    expect((await t.calls.get(other[0]!)).state).toBe('pending')
    await t.calls.cancel(other[0]!)
  })

  cliIt(
    'CLI: redrive --state failed --function f asks first, refuses without a terminal, acts with --yes',
    async () => {
      const failed = (await Promise.all(['1', '2'].map((x) => dispatch('refuse', `f-${x}`)))).flat()
      for (const id of failed) expect((await t.settle(id)).state).toBe('failed')
      const echoed = (await dispatch('echo', 'fine')).flat()
      await t.settle(echoed[0]!)

      const args = ['calls', 'redrive', '--state', 'failed', '--function', 'refuse']
      const before = (await t.calls.get(failed[0]!)).updatedAt
      const unconfirmed = await runCli(args, env)
      expect(unconfirmed.code).toBe(2)
      expect(unconfirmed.stderr).toMatch(/DSP4027: 2 calls would be redriven, and there is no terminal to confirm on/)
      expect(unconfirmed.stderr).toContain('--yes')
      // Nothing was redriven: the call is as it finished.
      expect((await t.calls.get(failed[0]!)).updatedAt).toBe(before)

      const confirmed = await runCli([...args, '--yes'], env)
      expect(confirmed.code, confirmed.stderr).toBe(0)
      expect(confirmed.stdout).toBe('2 calls redriven\n')
      // Redriven, they fail again (the function always refuses) after a new attempt.
      for (const id of failed) {
        await eventually(async () => {
          const call = await t.calls.get(id)
          return call.state === 'failed' && call.updatedAt !== before ? call : undefined
        })
      }

      const nothing = await runCli(['calls', 'cancel', '--function', 'nope'], env)
      expect(nothing.code, nothing.stderr).toBe(0)
      expect(nothing.stdout).toBe('no call to cancel matches\n')
      const both = await runCli(['calls', 'cancel', failed[0]!, '--state', 'pending'], env)
      expect(both.code).toBe(2)
      expect(both.stderr).toMatch(/DSP4026/)
      const neither = await runCli(['calls', 'redrive'], env)
      expect(neither.code).toBe(2)
      expect(neither.stderr).toMatch(/DSP4026: calls redrive needs a dispatch id or at least one filter flag/)
    },
  )

  cliIt('CLI: on a terminal, a bulk cancel asks, and does nothing unless the answer is yes', async () => {
    const ids = (
      await Promise.all(['x', 'y'].map((x) => dispatch('echo', `ask-${x}`, { delay: '3600s', fairnessKey: 'asked' })))
    ).flat()
    const args = ['calls', 'cancel', '--fairness-key', 'asked', '--state', 'pending']
    const declined = await runCliOnTerminal(args, env, 'n')
    expect(declined).toContain('cancel 2 calls? [y/N]')
    expect(declined).toContain('nothing was cancelled')
    for (const id of ids) expect((await t.calls.get(id)).state).toBe('pending')
    const accepted = await runCliOnTerminal(args, env, 'y')
    expect(accepted).toContain('2 calls cancelled')
    for (const id of ids) expect((await t.calls.get(id)).state).toBe('cancelled')
  })

  cliIt('CLI: cancel by search on an idempotency key, and list with the new filters', async () => {
    const [id] = await dispatch('echo', 'keyed', { delay: '3600s', idempotencyKey: 'order-42' })
    const listed = await runCli(['calls', 'list', '--search', 'order-42', '--created-after', '1h', '--json'], env)
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).calls.map((c: { dispatchId: string }) => c.dispatchId)).toEqual([id])
    const byEndpoint = await runCli(['calls', 'list', '--endpoint', 'http://127.0.0.1:1/none', '--json'], env)
    expect(JSON.parse(byEndpoint.stdout).calls).toEqual([])
    const cancelled = await runCli(['calls', 'cancel', '--search', 'order-42', '--yes', '--json'], env)
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(JSON.parse(cancelled.stdout)).toEqual({ matched: 1, changed: 1 })
    expect((await t.calls.get(id!)).state).toBe('cancelled')
  })
})
