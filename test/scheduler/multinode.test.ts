import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { currentCall, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { scriptCommand } from '../scriptCommand.js'
import { eventually, startEndpoint, value } from './helpers.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

interface Node {
  process: ChildProcess
  url: string
  apiKey: string
  verificationKeyPem: string
}

const run = `dispatch_multinode_${randomBytes(4).toString('hex')}`
const schemas: string[] = []
const nodes: Node[] = []

/** Starts a scheduler node process on `schema`; resolves once it serves. */
function startNode(schema: string): Promise<Node> {
  const child = spawn(process.execPath, scriptCommand('test/scheduler/multinodeNode.ts'), {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      DISPATCH_TEST_DATABASE_URL: POSTGRES_TEST_URL,
      DISPATCH_TEST_SCHEMA: schema,
      DISPATCH_API_KEY: '',
      DISPATCH_SIGNING_KEY: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line !== undefined) {
        const node = { process: child, ...(JSON.parse(line) as Omit<Node, 'process'>) }
        nodes.push(node)
        resolve(node)
      }
    })
    child.once('exit', (code) => reject(new Error(`scheduler node exited with ${code} before it served`)))
  })
}

function kill(node: Node, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (node.process.exitCode !== null || node.process.signalCode !== null) return resolve()
    node.process.once('exit', () => resolve())
    node.process.kill(signal)
  })
}

/** Dispatches a batch through `node`, retrying refusals (429) and lost answers with the same idempotency keys. */
async function dispatch(node: () => Node, calls: unknown[]): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const current = node()
      const response = await fetch(`${current.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${current.apiKey}` },
        body: JSON.stringify({ calls }),
      })
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
      return ((await response.json()) as { dispatchIds: string[] }).dispatchIds
    } catch (error) {
      if (attempt >= 50) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** An endpoint that records, per dispatch id, how many times it ran and whether two runs overlapped. */
function recordingRoutes(delayEvery = 0, slowEvery = 0) {
  const active = new Map<string, number>()
  const runs = new Map<string, number>()
  let overlaps = 0
  const routes = defineRoutes({
    work: {
      input: tupleSchema([{}]),
      output: {},
      source: 'test/scheduler/multinode.test.ts:1',
      handler: async (n: number) => {
        const id = currentCall().dispatchId!
        const now = (active.get(id) ?? 0) + 1
        active.set(id, now)
        if (now > 1) overlaps++
        runs.set(id, (runs.get(id) ?? 0) + 1)
        // Some attempts take a moment, so they are in flight at once and when a node is killed.
        // A few take longer than a lease (3 s): only renewal keeps the other node from taking them.
        if (slowEvery > 0 && n % slowEvery === 0) await new Promise((resolve) => setTimeout(resolve, 4000))
        else if (delayEvery > 0 && n % delayEvery === 0) await new Promise((resolve) => setTimeout(resolve, 5))
        else await new Promise((resolve) => setImmediate(resolve))
        active.set(id, (active.get(id) ?? 1) - 1)
        return n
      },
    },
  })
  return { routes, runs, overlaps: () => overlaps }
}

/** Waits until the store records every call as succeeded (read directly from PostgreSQL). */
async function allSucceeded(schema: string, total: number, timeoutMs: number): Promise<void> {
  const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
  try {
    await eventually(async () => {
      const counts = await store.countCalls()
      const done = counts.filter((c) => c.state === 'succeeded').reduce((n, c) => n + c.count, 0)
      return done === total && counts.every((c) => c.state === 'succeeded') ? true : undefined
    }, timeoutMs)
  } finally {
    await store.close()
  }
}

/** The most attempts any call of the schema took (a call taken over from a dead node took 2 or more). */
async function maxAttempts(schema: string): Promise<number> {
  const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
  try {
    let most = 0
    let after: string | undefined
    do {
      const page = await store.listCalls({ limit: 1000, ...(after ? { after } : {}) })
      for (const call of page.calls) most = Math.max(most, call.attempts)
      after = page.nextAfter
    } while (after !== undefined)
    return most
  } finally {
    await store.close()
  }
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => kill(node)))
})
afterAll(async () => {
  for (const schema of schemas) {
    const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
    await store.dropSchema()
    await store.close()
  }
})

describe('several scheduler nodes on one PostgreSQL schema', () => {
  it('two nodes process 5,000 calls together; no call runs on two nodes at once', async () => {
    const schema = `${run}_share`
    schemas.push(schema)
    const TOTAL = 5000
    const BATCH = 250
    const [a, b] = await Promise.all([startNode(schema), startNode(schema)])
    // The keys live in the schema: both nodes accept the same API key and sign with the same key.
    expect(a!.apiKey).toBe(b!.apiKey)
    expect(a!.verificationKeyPem).toBe(b!.verificationKeyPem)
    const { routes, runs, overlaps } = recordingRoutes(50, 1000)
    const { url: endpoint, app } = await startEndpoint(routes, a!.verificationKeyPem)
    try {
      const accepted = new Set<string>()
      await Promise.all(
        Array.from({ length: TOTAL / BATCH }, async (_, batch) => {
          const calls = Array.from({ length: BATCH }, (_, i) => ({
            endpoint,
            function: 'work',
            input: value([batch * BATCH + i]),
            idempotencyKey: `share-${batch * BATCH + i}`,
          }))
          // Half the batches through each node: both take part in accepting and delivering.
          const ids = await dispatch(() => (batch % 2 === 0 ? a! : b!), calls)
          for (const id of ids) accepted.add(id)
        }),
      )
      expect(accepted.size).toBe(TOTAL)
      await eventually(() => ([...accepted].every((id) => runs.has(id)) ? true : undefined), 45_000)
      await allSucceeded(schema, TOTAL, 20_000)
      expect(overlaps()).toBe(0)
      // With both nodes alive, leases renewed while attempts run: nothing ran twice, not even the
      // attempts that outlasted a lease.
      expect([...runs.values()].every((n) => n === 1)).toBe(true)
    } finally {
      await app.close()
    }
  })

  it('a node killed with SIGKILL under load: the other finishes everything, nothing lost', async () => {
    const schema = `${run}_kill`
    schemas.push(schema)
    const TOTAL = 2000
    const BATCH = 100
    const [a, b] = await Promise.all([startNode(schema), startNode(schema)])
    const { routes, runs, overlaps } = recordingRoutes(5)
    const { url: endpoint, app } = await startEndpoint(routes, a!.verificationKeyPem)
    try {
      const accepted = new Set<string>()
      let killed: Promise<void> | undefined
      for (let batch = 0; batch < TOTAL / BATCH; batch++) {
        const calls = Array.from({ length: BATCH }, (_, i) => ({
          endpoint,
          function: 'work',
          input: value([batch * BATCH + i]),
          idempotencyKey: `kill-${batch * BATCH + i}`,
        }))
        // Before the kill, node a accepts the calls; after it, node b.
        const ids = await dispatch(() => (killed === undefined ? a! : b!), calls)
        for (const id of ids) accepted.add(id)
        if (batch === 9) {
          // Kill node a while it has attempts in flight.
          await eventually(() => (runs.size >= 300 ? true : undefined), 30_000)
          killed = kill(a!)
          await killed
        }
      }
      expect(accepted.size).toBe(TOTAL)
      // Node b takes over node a's expired leases and delivers the rest.
      await eventually(() => ([...accepted].every((id) => runs.has(id)) ? true : undefined), 45_000)
      await allSucceeded(schema, TOTAL, 20_000)
      // Node a's attempts were done (ms) before its leases expired (3 s): no overlap even then.
      expect(overlaps()).toBe(0)
      // What node a had claimed when it died was claimed again by node b once its lease expired.
      expect(await maxAttempts(schema)).toBeGreaterThan(1)
    } finally {
      await app.close()
    }
  })

  /**
   * Dispatches TOTAL calls through both nodes while `disrupt` cuts PostgreSQL away from them a few
   * times; every accepted call must still complete.
   */
  async function underDisruption(schema: string, disrupt: () => Promise<void>): Promise<void> {
    schemas.push(schema)
    const TOTAL = 1500
    const BATCH = 100
    const [a, b] = await Promise.all([startNode(schema), startNode(schema)])
    const { routes, runs } = recordingRoutes(5)
    const { url: endpoint, app } = await startEndpoint(routes, a!.verificationKeyPem)
    try {
      const accepted = new Set<string>()
      for (let batch = 0; batch < TOTAL / BATCH; batch++) {
        const calls = Array.from({ length: BATCH }, (_, i) => ({
          endpoint,
          function: 'work',
          input: value([batch * BATCH + i]),
          idempotencyKey: `cut-${batch * BATCH + i}`,
        }))
        // A batch refused while the database is away (503) is sent again with the same keys.
        const ids = await dispatch(() => (batch % 2 === 0 ? a! : b!), calls)
        for (const id of ids) accepted.add(id)
        if (batch % 5 === 2) await disrupt()
      }
      expect(accepted.size).toBe(TOTAL)
      await eventually(() => ([...accepted].every((id) => runs.has(id)) ? true : undefined), 45_000)
      await allSucceeded(schema, TOTAL, 30_000)
    } finally {
      await app.close()
    }
  }

  it('connections lost under load (every node connection terminated, 3 times): every accepted call completes', async () => {
    const schema = `${run}_cut`
    const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL })
    await admin.connect()
    try {
      await underDisruption(schema, async () => {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
          `dispatch:${schema}`,
        ])
      })
    } finally {
      await admin.end()
    }
  })

  // Restarting the server disturbs every other PostgreSQL test running at the same time, so this one
  // runs only when asked, alone: `npm test` ends with `npm run test:pg-restart`, after the main suite
  // (DISPATCH_TEST_PG_RESTART=1 vitest run test/scheduler/multinode.test.ts -t 'PostgreSQL restarted').
  it.runIf(process.env['DISPATCH_TEST_PG_RESTART'] === '1')(
    'PostgreSQL restarted under load (pg_ctlcluster restart, 3 times): every accepted call completes',
    async () => {
      const version = readdirSync('/etc/postgresql')[0]!
      await underDisruption(`${run}_restart`, async () => {
        execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'ignore' })
      })
    },
  )
})
