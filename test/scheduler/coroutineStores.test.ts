import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import {
  all,
  createClient,
  defineRoutes,
  now,
  PermanentError,
  patched,
  type Routes,
  race,
  SignalTimeoutError,
  StepFailedError,
  sleep,
  step,
  TemporaryError,
  tupleSchema,
  waitForSignal,
} from '../../runtime/index.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { runCli } from '../cli/runCli.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

// The second round of coroutines through the real scheduler (on each store) and a real endpoint
// over HTTP with signatures: durable steps, signals, declared versions and patched() across a
// redeploy, children cancelled at exit, sub-second sleeps — what test/scheduler/coroutineSteps,
// coroutineSignals and coroutineExit check in the test environment, here end to end; plus what an
// operator sees: `dispatch calls get` lists restarts with their reason, and the endpoint logs one
// warning with a DSP code per restart and for a turn that suspended in the middle of ordinary I/O.

const SOURCE = 'test/scheduler/coroutineStores.test.ts'
/** How many times each step's fn ran (its side effect), by key. */
const effects = new Map<string, number>()
const effect = (key: string) => effects.set(key, (effects.get(key) ?? 0) + 1)
const ran = (key: string) => effects.get(key) ?? 0
/** Runs of the function that diverges from its journal, by key. */
const runs = new Map<string, number>()

const client = createClient<{
  double: { args: [number]; output: number }
  echo: { args: [string]; output: string }
  hold: { args: [string]; output: string }
}>({ double: 1, echo: 1, hold: 1 })

const any = Type.Any()
const routes = defineRoutes({
  double: { source: SOURCE, input: tupleSchema([Type.Number()]), output: Type.Number(), handler: async (n) => n * 2 },
  echo: { source: SOURCE, input: tupleSchema([Type.String()]), output: Type.String(), handler: async (s) => s },
  checkout: {
    source: SOURCE,
    input: tupleSchema([Type.String()]),
    output: any,
    handler: async (order: string) => {
      const receipt = await step('charge', () => {
        effect(`charge ${order}`)
        return `receipt-${order}`
      })
      // A step beside a durable call in all(): each once, whatever the turns.
      const [doubled, emailed] = await all([
        client.double.call(21),
        step('email', async () => {
          effect(`email ${order}`)
          return `sent ${receipt}`
        }),
      ])
      await sleep('50ms')
      const flaky = await step(
        'flaky',
        ({ attempt }) => {
          effect(`flaky ${order}`)
          if (attempt < 3) throw new TemporaryError('the mail server is restarting')
          return attempt
        },
        { attempts: 3, backoff: { initial: 1, max: 2 } },
      )
      let refused = ''
      try {
        await step('refund', () => {
          effect(`refund ${order}`)
          throw new PermanentError('no such card')
        })
      } catch (error) {
        if (!(error instanceof StepFailedError)) throw error
        refused = `${error.stepName}: ${error.errorType}: ${error.errorMessage} after ${error.attempts}`
      }
      const last = await client.echo.call('done')
      return { receipt, doubled, emailed, flaky, refused, last }
    },
  },
  order: {
    source: SOURCE,
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (id: string) => {
      await step('reserve', () => {
        effect(`reserve ${id}`)
      })
      try {
        const approval = await waitForSignal<{ by: string }>('approval', {
          timeout: id.startsWith('late') ? '100ms' : '1d',
          schema: Type.Object({ by: Type.String() }),
        })
        return `${id} approved by ${approval.by}`
      } catch (error) {
        if (!(error instanceof SignalTimeoutError)) throw error
        return `${id}: no ${error.signalName}`
      }
    },
  },
  early: {
    source: SOURCE,
    input: tupleSchema([]),
    output: any,
    handler: async () => {
      await sleep('1s')
      // Both signals came during the sleep: kept, one per wait, in the order sent.
      return [await waitForSignal('go'), await waitForSignal('go')]
    },
  },
  diverging: {
    source: SOURCE,
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (key: string) => {
      const first = (runs.get(key) ?? 0) === 0
      runs.set(key, (runs.get(key) ?? 0) + 1)
      // The first run calls double; every later run calls echo: the resume of the first run diverges.
      return first ? String(await client.double.call(1)) : await client.echo.call('again')
    },
  },
  // Waits for the signal `release`: a child that stays suspended until told.
  hold: {
    source: SOURCE,
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (tag: string) => `${tag} ${await waitForSignal('release')}`,
  },
  racer: {
    source: SOURCE,
    input: tupleSchema([]),
    output: Type.String(),
    handler: async () => {
      client.hold.call('detached', { detached: true })
      // The loser of the race is still running when the parent returns: it is cancelled.
      return race([client.hold.call('loser'), client.echo.call('winner')])
    },
  },
  nap: {
    source: SOURCE,
    input: tupleSchema([]),
    output: Type.Number(),
    handler: async () => {
      const before = now().getTime() // journaled: the turn after the sleep replays the same instant
      await sleep('150ms')
      return Date.now() - before
    },
  },
  busy: {
    source: SOURCE,
    input: tupleSchema([]),
    output: Type.Number(),
    handler: async () => {
      const a = client.double.call(1)
      // Ordinary I/O (a plain timer here) while a durable call is pending: the turn suspends in
      // the middle of it, and the function carries on after the turn ended.
      await new Promise((resolve) => setTimeout(resolve, 100))
      const b = await client.double.call(2)
      return (await a) + b
    },
  },
})

/**
 * `versioned` as deployed: `v1` calls echo then waits for `go`; `v2` (the same declared version)
 * ships a call of double behind `patched('bonus')`; `v3` declares another version.
 */
function versionedRoutes(deploy: 'v1' | 'v2' | 'v3'): Routes {
  const handler =
    deploy === 'v1'
      ? async () => {
          const a = await client.echo.call('a')
          await waitForSignal('go')
          return `${a}:v1`
        }
      : async () => {
          const a = await client.echo.call('a')
          const bonus = patched('bonus') ? await client.double.call(1) : 0
          await waitForSignal('go')
          return `${a}:${bonus}`
        }
  return defineRoutes({
    ...routes,
    versioned: {
      source: SOURCE,
      version: deploy === 'v3' ? '2' : '1',
      input: tupleSchema([]),
      output: Type.String(),
      handler,
    },
  })
}

/** The endpoint, whose Fastify logger writes into `lines` (warnings and above). */
async function startLoggedEndpoint(
  verificationKeyPem: string,
  lines: Record<string, unknown>[],
  table: Routes = routes,
  port = 0,
): Promise<{ url: string; app: FastifyInstance }> {
  const stream = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(dispatchPlugin, {
    routes: table,
    verificationKey: verificationKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  await app.listen({ host: '127.0.0.1', port })
  const address = app.server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}`, app }
}

describe.each(['SQLite', 'PostgreSQL'])('coroutines end to end on %s', (storeName) => {
  const schema = `dispatch_test_coroutine_${randomBytes(4).toString('hex')}`
  let folder = ''
  let t: TestScheduler
  let endpoint: { url: string; app: FastifyInstance }
  const logs: Record<string, unknown>[] = []
  let env: Record<string, string>

  beforeAll(async () => {
    folder = await tempFolder('dispatch-coroutine-stores-')
    t = await startTestScheduler(join(folder, 'dispatch.db'), {
      ...(storeName === 'PostgreSQL' ? { postgres: { url: POSTGRES_TEST_URL, schema, poolSize: 4 } } : {}),
    })
    endpoint = await startLoggedEndpoint(t.scheduler.verificationKeyPem, logs)
    env = { DISPATCH_API_URL: t.scheduler.url, DISPATCH_API_KEY: t.scheduler.apiKey }
  })
  afterAll(async () => {
    await endpoint?.app.close()
    await t?.scheduler.close()
    await removeFolder(folder)
    if (storeName === 'PostgreSQL') {
      const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
      await store.dropSchema()
      await store.close()
    }
  })

  const start = async (fn: string, args: unknown[]) =>
    (await t.dispatch([{ endpoint: endpoint.url, function: fn, input: value(args) }]))[0]!
  const suspended = (id: string) =>
    eventually(async () => ((await t.calls.get(id)).state === 'suspended' ? true : undefined))
  /** Suspended after its `n`th turn (a Poll): past the operations the first `n` turns ran. */
  const turns = (id: string, n: number) =>
    eventually(async () => {
      const { call, attempts } = await t.calls.inspect(id)
      return call.state === 'suspended' && attempts.filter((a) => a.outcome === 'poll').length >= n ? true : undefined
    })
  const warnings = (code: string) => logs.filter((l) => l['level'] === 40 && String(l['msg']).includes(code))

  it('runs each step once over the turns, retries a step, and throws StepFailedError into the coroutine', async () => {
    const key = `o-${storeName}`
    const call = await t.settle(await start('checkout', [key]))
    expect(call.state).toBe('succeeded')
    expect(call.output?.value).toEqual({
      receipt: `receipt-${key}`,
      doubled: 42,
      emailed: `sent receipt-${key}`,
      flaky: 3,
      refused: 'refund: PermanentError: no such card after 1',
      last: 'done',
    })
    // Four turns replayed the steps; each fn ran once (the flaky one once per attempt, all in one turn).
    expect([ran(`charge ${key}`), ran(`email ${key}`), ran(`flaky ${key}`), ran(`refund ${key}`)]).toEqual([1, 1, 3, 1])
    expect(warnings('DSP2267').filter((l) => l['function'] === 'checkout')).toEqual([])
  })

  it('resumes a coroutine with a signal sent by `dispatch calls signal`, checked against its schema', async () => {
    const id = await start('order', [`a-${storeName}`])
    await suspended(id)
    const sent = await runCli(['calls', 'signal', id, 'approval', '--payload', '{"by":"ada"}'], env)
    expect(sent.code, sent.stderr).toBe(0)
    expect(await t.settle(id)).toMatchObject({
      state: 'succeeded',
      output: { value: `a-${storeName} approved by ada` },
    })
    expect(ran(`reserve a-${storeName}`)).toBe(1)
    // A finished call takes no signal; an unknown one neither.
    await expect(t.calls.signal(id, 'approval', { by: 'bob' })).rejects.toThrow(
      /cannot signal approval call .*: it is succeeded/,
    )
    await expect(t.calls.signal('0000000000000000000000000a', 'approval')).rejects.toThrow(/no call with dispatch id/)
  })

  it('times a wait for a signal out, and keeps signals sent before the wait', async () => {
    const late = await start('order', [`late-${storeName}`])
    expect(await t.settle(late)).toMatchObject({ output: { value: `late-${storeName}: no approval` } })
    const early = await start('early', [])
    await suspended(early)
    await t.calls.signal(early, 'go', 1)
    await t.calls.signal(early, 'go', { second: true })
    expect(await t.settle(early)).toMatchObject({ state: 'succeeded', output: { value: [1, { second: true }] } })
  })

  it('shows a restart from input with its reason in `dispatch calls get`, and logs one warning with DSP2266', async () => {
    const before = warnings('DSP2266').length
    const id = await start('diverging', [storeName])
    const call = await t.settle(id)
    expect(call).toMatchObject({ state: 'succeeded', output: { value: 'again' }, restarts: 1 })
    const [got, asJson] = await Promise.all([
      runCli(['calls', 'get', id], env),
      runCli(['calls', 'get', id, '--json'], env),
    ])
    expect(got.code, got.stderr).toBe(0)
    expect(got.stdout).toMatch(
      /^restarts:\s+1 since the last tail call or redrive \(started again from its input\); 1 in the history below$/m,
    )
    expect(got.stdout).toMatch(
      /^ {2}#\d+\s+\S+Z\s+DSP2266: diverging diverged from its journal at operation #0: it recorded a call of double, the replay asks for a call of echo$/m,
    )
    expect(got.stdout).toMatch(/STATUS_INCOMPATIBLE_STATE\s+restarted/)
    const json = JSON.parse(asJson.stdout) as {
      restarts: number
      attemptHistory: { outcome: string; error?: { message: string } }[]
    }
    expect(json.restarts).toBe(1)
    expect(json.attemptHistory.filter((a) => a.outcome === 'restart').map((a) => a.error?.message)).toEqual([
      expect.stringMatching(/^DSP2266: diverging diverged/),
    ])
    const logged = warnings('DSP2266').slice(before)
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ function: 'diverging', status: 'STATUS_INCOMPATIBLE_STATE' })
    expect(logged[0]!['msg']).toMatch(/^dispatch coroutine restarts from its input: DSP2266: diverging diverged/)
  })

  it('warns (DSP2267) when a turn suspended in the middle of ordinary I/O, once, and the call still succeeds', async () => {
    const id = await start('busy', [])
    expect(await t.settle(id)).toMatchObject({ state: 'succeeded', output: { value: 6 } })
    const logged = await eventually(() => {
      const found = warnings('DSP2267').filter((l) => l['function'] === 'busy')
      return found.length > 0 ? found : undefined
    })
    expect(logged).toHaveLength(1)
    expect(logged[0]!['msg']).toMatch(
      /^dispatch: DSP2267: busy was still busy when its turn suspended: after the turn ended, it started a call of double\. .*Put I\/O in a step/,
    )
  })
  it('cancels the children a coroutine no longer needs when it returns, and keeps a detached one', async () => {
    const id = await start('racer', [])
    expect(await t.settle(id)).toMatchObject({ state: 'succeeded', output: { value: 'winner' } })
    const children = await eventually(async () => {
      const { calls } = await t.calls.list({ parentDispatchId: id })
      const byTag = new Map(calls.map((c) => [JSON.stringify(c.input?.value), c]))
      const loser = byTag.get('["loser"]')
      return loser?.state === 'cancelled' ? byTag : undefined
    })
    const detached = children.get('["detached"]')!
    expect(detached.state).not.toBe('cancelled')
    await suspended(detached.dispatchId)
    await t.calls.signal(detached.dispatchId, 'release', 'now')
    expect(await t.settle(detached.dispatchId)).toMatchObject({ state: 'succeeded', output: { value: 'detached now' } })
  })

  it('honours a sub-second sleep: resumed once 150 ms passed, not a whole second', async () => {
    const call = await t.settle(await start('nap', []))
    expect(call.state).toBe('succeeded')
    expect(call.output?.value).toBeGreaterThanOrEqual(150)
  })

  it('keeps in-flight runs over a deploy of the same declared version (patched() false for them), restarts them on a new one', async () => {
    const own = await startLoggedEndpoint(t.scheduler.verificationKeyPem, logs, versionedRoutes('v1'))
    const port = Number(new URL(own.url).port)
    let app = own.app
    const startAt = async (url: string) =>
      (await t.dispatch([{ endpoint: url, function: 'versioned', input: value([]) }]))[0]!
    try {
      const old = await startAt(own.url)
      await turns(old, 2) // waiting for its signal: the journal went past where v2 has patched('bonus')
      // Deploy v2 at the same address: a code edit, the same declared version, new logic behind patched().
      await app.close()
      app = (await startLoggedEndpoint(t.scheduler.verificationKeyPem, logs, versionedRoutes('v2'), port)).app
      const fresh = await startAt(own.url)
      await suspended(fresh)
      await t.calls.signal(old, 'go')
      await t.calls.signal(fresh, 'go')
      // The old run replays without the patched branch; the new run takes it. Neither restarts.
      expect(await t.settle(old)).toMatchObject({ state: 'succeeded', output: { value: 'a:0' } })
      expect((await t.calls.get(old)).restarts).toBeUndefined()
      expect(await t.settle(fresh)).toMatchObject({ state: 'succeeded', output: { value: 'a:2' } })

      // Deploy v3, another declared version: an in-flight run restarts from its input, with a warning.
      const before = warnings('DSP2266').length
      const third = await startAt(own.url)
      await turns(third, 3) // waiting for its signal: only the signal resumes it
      await app.close()
      app = (await startLoggedEndpoint(t.scheduler.verificationKeyPem, logs, versionedRoutes('v3'), port)).app
      await t.calls.signal(third, 'go')
      const restarted = await eventually(async () => {
        const call = await t.calls.get(third)
        return call.restarts === 1 && call.state === 'suspended' ? call : undefined
      })
      expect(restarted.restarts).toBe(1)
      const logged = warnings('DSP2266').slice(before)
      expect(logged).toHaveLength(1)
      expect(logged[0]!['msg']).toMatch(
        /the code of versioned changed since this coroutine started \(journal version @1, running @2\)/,
      )
      // The restart forgot the signal: the fresh run waits for another one.
      await t.calls.signal(third, 'go')
      expect(await t.settle(third)).toMatchObject({ state: 'succeeded', output: { value: 'a:2' } })
    } finally {
      await app.close()
    }
  })
})
