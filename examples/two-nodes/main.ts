/**
 * Two scheduler nodes sharing one PostgreSQL, end to end: starts two `dispatch scheduler` processes
 * (DISPATCH_DATABASE_URL set) on one schema and an endpoint serving `greet`, dispatches CALLS calls (default 400)
 * through node A only, and shows that both nodes delivered some of them (node B learns of them
 * through LISTEN/NOTIFY) by sampling each node's attempts in flight (CallService Stats), then
 * waits for every result through node B. Exits 0 when every call succeeded and both nodes worked.
 *
 *   DISPATCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run demo:two-nodes
 *
 * The schema (`two_nodes_<random>`, or EXAMPLE_SCHEMA) is dropped at the end. In production each
 * node runs on its own machine: `npx dispatch scheduler` with DISPATCH_DATABASE_URL set (a URL in
 * a flag shows its password in `ps`), with
 * the same DISPATCH_API_KEY and DISPATCH_SIGNING_KEY on every node (from your secret store), or
 * none, and the first node stores generated keys in the schema for the others.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createCallServiceClient, createClient, defineRoutes, dispatchBatch, tupleSchema } from 'dispatch-functions'
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify from 'fastify'
import pg from 'pg'
import { Type } from 'typebox'

const databaseUrl = process.env['DISPATCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test'
const schema = process.env['EXAMPLE_SCHEMA'] || `two_nodes_${randomBytes(4).toString('hex')}`
const CALLS = Number(process.env['CALLS'] ?? 400)
const root = fileURLToPath(new URL('../..', import.meta.url))

// The keys every node shares: one API key, one signing key; endpoints verify with its public half.
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const apiKey = randomBytes(24).toString('base64url')
const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const verificationKey = publicKey.export({ type: 'spki', format: 'pem' }).toString()

/** `dispatch scheduler --schema <schema>` with DISPATCH_DATABASE_URL, on a free port; resolves to its API URL. */
function startNode(name: string): Promise<{ name: string; url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'scheduler', '--schema', schema, '--port', '0'],
    {
      cwd: root,
      env: {
        ...process.env,
        DISPATCH_DATABASE_URL: databaseUrl,
        DISPATCH_API_KEY: apiKey,
        DISPATCH_SIGNING_KEY: signingKey,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  return new Promise((resolve, reject) => {
    let log = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const listening = /scheduler listening on (\S+)/.exec(log)
      if (listening) resolve({ name, url: listening[1]!, child })
    })
    child.once('exit', (code) => reject(new Error(`node ${name} exited with ${code}:\n${log}`)))
  })
}

const routes = defineRoutes({
  greet: {
    input: tupleSchema([Type.Integer()]),
    output: Type.String(),
    source: 'examples/two-nodes/main.ts',
    handler: async (n: number) => {
      await new Promise((resolve) => setTimeout(resolve, 50)) // some work, so attempts overlap
      return `hello ${n}`
    },
  },
})

const endpoint = Fastify()
// Port 0: the endpoint's own URL (which signatures must be made for) is known once it listens.
await endpoint.register(dispatchPlugin, { routes, verificationKey, endpointUrl: () => endpoint.listeningOrigin })
await endpoint.listen({ host: '127.0.0.1', port: 0 })
const endpointUrl = `http://127.0.0.1:${(endpoint.server.address() as { port: number }).port}`

const nodes: { name: string; url: string; child: ChildProcess }[] = []
let ok = false
try {
  nodes.push(...(await Promise.all([startNode('A'), startNode('B')])))
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
  console.log(`node A ${a.url}, node B ${b.url}, one schema: ${schema}`)

  // Sample each node's attempts in flight while the calls run.
  const busiest = new Map<string, number>(nodes.map((node) => [node.name, 0]))
  const callServices = nodes.map((node) => ({ node, api: createCallServiceClient({ apiUrl: node.url, apiKey }) }))
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      for (const { node, api } of callServices) {
        const { inFlight } = await api.stats()
        busiest.set(node.name, Math.max(busiest.get(node.name)!, inFlight))
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()

  // Every call goes through node A; both nodes deliver.
  const client = createClient<{ greet: { args: [number]; output: string } }>(
    { greet: 1 },
    { endpoint: endpointUrl, apiUrl: a.url, apiKey },
  )
  const ids = await dispatchBatch(Array.from({ length: CALLS }, (_, n) => client.greet.build(n)))
  console.log(`dispatched ${ids.length} calls through node A`)

  // Results through node B: every node sees every call.
  const viaB = createCallServiceClient({ apiUrl: b.url, apiKey })
  let succeeded = 0
  for (const id of ids) {
    let info = await viaB.wait(id, '60s')
    while (!info.done) info = await viaB.wait(id, '60s')
    if (info.call.state === 'succeeded') succeeded++
  }
  sampling = false
  await sampler
  console.log(`${succeeded} of ${ids.length} calls succeeded`)
  for (const [name, most] of busiest) console.log(`node ${name}: up to ${most} attempts in flight at once`)
  ok = succeeded === ids.length && [...busiest.values()].every((most) => most > 0)
  console.log(ok ? 'both nodes delivered calls' : 'FAILED: not every call succeeded on both nodes')
} finally {
  await Promise.all(
    nodes.map(
      (node) =>
        new Promise((resolve) => {
          node.child.once('exit', resolve)
          node.child.kill('SIGTERM')
        }),
    ),
  )
  await endpoint.close()
  if (!process.env['EXAMPLE_SCHEMA']) {
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await db.end()
  }
}
process.exitCode = ok ? 0 : 1
