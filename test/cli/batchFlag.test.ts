import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { createCallServiceClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { BATCH_CONTENT_TYPE } from '../../schemas/batch.js'
import { runCli } from './runCli.js'
import { startCli } from './startCli.js'

// `--batch N` on a real `dispatch scheduler` process: the endpoint (this project's, so it advertises
// batches) counts the calls of every request it gets.

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const routes = defineRoutes({
  echo: {
    input: tupleSchema([Type.Number()]),
    output: Type.Number(),
    handler: async (n: number) => n,
    source: 'test/cli/batchFlag.test.ts:1',
  },
})

/** The number of calls in each request the endpoint got (1 for a single RunRequest). */
const requests: number[] = []
let app: FastifyInstance
let endpoint: string
const folders: string[] = []

beforeAll(async () => {
  app = Fastify()
  app.addHook('preHandler', (request, _reply, done) => {
    const type = request.headers['content-type']
    const body = request.body as Buffer
    requests.push(
      typeof type === 'string' && type.startsWith(BATCH_CONTENT_TYPE)
        ? (JSON.parse(body.toString('utf8')) as { calls: unknown[] }).calls.length
        : 1,
    )
    done()
  })
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    endpointUrl: () => app.listeningOrigin,
  })
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  for (const folder of folders) await rm(folder, { recursive: true, force: true })
})

/** Runs `dispatch scheduler` with `flags`, sends one call then 40 at once; the sizes of the requests the 40 came in. */
async function requestSizes(flags: string[]): Promise<number[]> {
  const folder = await mkdtemp(join(tmpdir(), 'dispatch-cli-batch-'))
  folders.push(folder)
  const apiKey = 'cli-batch-key'
  const cli = startCli(['scheduler', '--db', join(folder, 'dispatch.db'), '--port', '0', ...flags], {
    DISPATCH_API_KEY: apiKey,
    DISPATCH_SIGNING_KEY: signingKey,
    DISPATCH_DATABASE_URL: '',
  })
  try {
    const [, apiUrl] = await cli.waitForStderr(/scheduler listening on (http:\/\/127\.0\.0\.1:\d+) /)
    const calls = createCallServiceClient({ apiUrl: apiUrl!, apiKey })
    const dispatch = async (inputs: number[]) => {
      const response = await fetch(`${apiUrl}/dispatch.sdk.v1.DispatchService/Dispatch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({
          calls: inputs.map((n) => ({
            endpoint,
            function: 'echo',
            input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [n] },
          })),
        }),
      })
      expect(response.status).toBe(200)
      const ids = ((await response.json()) as { dispatchIds: string[] }).dispatchIds
      for (const id of ids) {
        for (;;) {
          const { call, done } = await calls.wait(id, '20s')
          if (done) {
            expect(call.state).toBe('succeeded')
            break
          }
        }
      }
    }
    // One call alone: its answer tells the scheduler the endpoint takes batches.
    await dispatch([0])
    const before = requests.length
    await dispatch(Array.from({ length: 40 }, (_, n) => n + 1))
    return requests.slice(before)
  } finally {
    await cli.stop()
  }
}

describe('--batch', () => {
  it('sends up to N calls in one request to an endpoint that takes batches, and none with --batch 1', async () => {
    const batched = await requestSizes(['--batch', '8'])
    expect(batched.reduce((a, b) => a + b, 0)).toBe(40)
    expect(Math.max(...batched)).toBeGreaterThan(1)
    expect(Math.max(...batched)).toBeLessThanOrEqual(8)

    const single = await requestSizes(['--batch', '1'])
    expect(single).toEqual(Array.from({ length: 40 }, () => 1))
  })

  it('refuses a batch size outside 1 to 256 (exit 2), on run and on scheduler', async () => {
    for (const value of ['0', '257']) {
      const result = await runCli(['scheduler', '--batch', value, '--port', '0', '--db', join(tmpdir(), 'never.db')])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('is not a batch size: use a whole number from 1 to 256')
    }
    const run = await runCli(['run', '--batch', '2.5', '--port', '0', '--', 'true'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('is not a batch size')
  })
})
