import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { type CallServiceClient, createCallServiceClient, type Routes } from '../../runtime/index.js'
import { type Scheduler, type SchedulerOptions, startScheduler } from '../../scheduler/index.js'
import type { CallInfo } from '../../schemas/callService.js'

/** A temporary folder, removed by `cleanup()`. */
export async function tempFolder(prefix = 'dispatch-scheduler-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function removeFolder(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true })
}

/** Small backoff and polling, so retries take milliseconds in tests. */
export const FAST_RETRY = { initialBackoffMs: 5, maxBackoffMs: 40, backoffMultiplier: 2, attemptTimeoutMs: 10_000 }

export interface TestScheduler {
  readonly scheduler: Scheduler
  readonly calls: CallServiceClient
  /** POSTs to the scheduler's API with its key (or `key`); returns the HTTP status and the decoded body. */
  post(path: string, body: unknown, key?: string | null): Promise<{ status: number; body: any }>
  /** Dispatches calls and returns their ids; throws on a refusal. */
  dispatch(calls: unknown[]): Promise<string[]>
  /** Waits until the call is terminal. */
  settle(id: string): Promise<CallInfo>
}

export async function startTestScheduler(
  dbPath: string,
  options: { [K in keyof SchedulerOptions]?: SchedulerOptions[K] | undefined } = {},
): Promise<TestScheduler> {
  const scheduler = await startScheduler({
    dbPath,
    apiKey: 'test-api-key',
    retry: FAST_RETRY,
    pollIntervalMs: 100,
    shutdownGraceMs: 500,
    ...options,
  } as SchedulerOptions)
  const calls = createCallServiceClient({ apiUrl: scheduler.url, apiKey: scheduler.apiKey })
  const post = async (path: string, body: unknown, key: string | null = scheduler.apiKey) => {
    const response = await fetch(`${scheduler.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  return {
    scheduler,
    calls,
    post,
    dispatch: async (list) => {
      const answer = await post('/dispatch.sdk.v1.DispatchService/Dispatch', { calls: list })
      if (answer.status !== 200) throw new Error(`Dispatch answered ${answer.status}: ${JSON.stringify(answer.body)}`)
      return answer.body.dispatchIds
    },
    settle: async (id) => {
      for (;;) {
        const { call, done } = await calls.wait(id, '20s')
        if (done) return call
      }
    },
  }
}

/** A real endpoint: Fastify with the dispatch plugin, verifying the scheduler's signatures. */
export async function startEndpoint(
  routes: Routes,
  verificationKeyPem: string,
): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify()
  // Listening on port 0: the endpoint learns its own URL once it listens.
  await app.register(dispatchPlugin, {
    routes,
    verificationKey: verificationKeyPem,
    endpointUrl: () => app.listeningOrigin,
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { url: `http://127.0.0.1:${port}`, app }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const value = (v: unknown) => ({ '@type': 'type.googleapis.com/google.protobuf.Value', value: v })
