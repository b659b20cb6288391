import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordFigures } from '../fuzz/fuzzConfig.js'
import { removeFolder, startTestScheduler, tempFolder, value } from '../scheduler/helpers.js'
import { scriptCommand } from '../scriptCommand.js'
import { checkInvariants, exited, FULL, repoRoot } from './processes.js'

// Endpoints that fail in the ways real ones do: killed mid-request, hanging past the attempt
// timeout, closing connections, answering garbage. The scheduler (in this process) must bring
// every call to a terminal state, succeed only calls whose function returned, and not retry an
// answer that is not a RunResponse.

const figures = { accepted: 0, completed: 0, lost: 0, crashes: 0, survived: 0 }
let folder: string
afterAll(async () => {
  await removeFolder(folder)
  recordFigures({
    suite: 'faults: endpoints',
    'calls accepted': figures.accepted,
    'calls completed': figures.completed,
    'calls lost': figures.lost,
    'crashes injected': figures.crashes,
    'crashes survived': figures.survived,
  })
})
beforeAll(async () => {
  folder = await tempFolder('dispatch-faults-endpoint-')
})

function spawnEndpoint(effects: string, port = 0, requests?: string): Promise<{ process: ChildProcess; url: string }> {
  const child = spawn(process.execPath, scriptCommand('test/faults/fixtures/endpointProcess.ts'), {
    cwd: repoRoot,
    env: {
      ...process.env,
      DISPATCH_TEST_EFFECTS: effects,
      DISPATCH_TEST_PORT: String(port),
      DISPATCH_TEST_UNSIGNED: '1',
      ...(requests === undefined ? {} : { DISPATCH_TEST_REQUESTS: requests }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n')) resolve({ process: child, url: (JSON.parse(line!) as { url: string }).url })
    })
    child.once('exit', (code) => reject(new Error(`endpoint exited with ${code} before it served`)))
  })
}

/** The number of calls of each Run request an endpoint process received (see the fixture). */
function readRequests(path: string): number[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(Number)
}

function readEffects(path: string): Map<string, number> {
  const counts = new Map<string, number>()
  if (!existsSync(path)) return counts
  for (const id of readFileSync(path, 'utf8').split('\n')) if (id) counts.set(id, (counts.get(id) ?? 0) + 1)
  return counts
}

/** A raw HTTP endpoint: `answer` decides per request (the decoded RunRequest and its attempt number). */
async function rawEndpoint(
  answer: (
    request: { dispatchId: string; function: string },
    attempt: number,
    res: import('node:http').ServerResponse,
  ) => void,
): Promise<{ url: string; server: Server }> {
  const attempts = new Map<string, number>()
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      const request = JSON.parse(body) as { dispatchId: string; function: string }
      const attempt = (attempts.get(request.dispatchId) ?? 0) + 1
      attempts.set(request.dispatchId, attempt)
      answer(request, attempt, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, server }
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

function tally(report: Awaited<ReturnType<typeof checkInvariants>>): void {
  figures.accepted += report.accepted
  figures.completed += report.completed
  figures.lost += report.lost.length
  expect(report.lost).toEqual([])
  expect(report.notTerminal).toEqual([])
  expect(report.okWithoutEffect).toEqual([])
}

/** Calls delivered to an endpoint process that is SIGKILLed several times mid-request, then restarted. */
async function killedMidRequest(name: string, options: { batchDelivery: { maxCalls: number } | false }): Promise<void> {
  const total = FULL ? 2000 : 400
  const kills = 3
  const t = await startTestScheduler(join(folder, `${name}.db`), {
    retry: { initialBackoffMs: 20, maxBackoffMs: 300, maxAttempts: 200, attemptTimeoutMs: 10_000 },
    concurrency: 32,
    ...options,
  })
  const effectsPath = join(folder, `${name}.effects`)
  // One file per endpoint process: what the process killed had received.
  const requestsOf = (generation: number) => join(folder, `${name}.requests.${generation}`)
  let endpoint = await spawnEndpoint(effectsPath, 0, requestsOf(0))
  const port = Number(new URL(endpoint.url).port)
  try {
    const ids = new Set<string>()
    for (let b = 0; b < total / 100; b++) {
      const calls = Array.from({ length: 100 }, (_, i) => ({
        endpoint: endpoint.url,
        function: 'slow',
        input: value([b * 100 + i]),
      }))
      for (const id of await t.dispatch(calls)) ids.add(id)
    }
    for (let k = 1; k <= kills; k++) {
      // Kill once more calls have run, while others are in flight (concurrency 32, each takes ms).
      const target = Math.floor((total * k) / (kills + 1))
      await waitFor(() => readEffects(effectsPath).size >= target)
      await exited(endpoint.process, true)
      figures.crashes++
      const received = readRequests(requestsOf(k - 1))
      // Batched: the process killed was taking several calls per request; unbatched: one each.
      if (options.batchDelivery === false) expect(Math.max(...received)).toBe(1)
      else expect(Math.max(...received)).toBeGreaterThan(1)
      endpoint = await spawnEndpoint(effectsPath, port, requestsOf(k))
      figures.survived++
    }
    const report = await checkInvariants(t.calls, ids, () => readEffects(effectsPath))
    tally(report)
    expect(report.succeeded).toBe(total)
  } finally {
    await exited(endpoint.process, true)
    await t.scheduler.close()
  }
}

describe('faults: endpoints', () => {
  it('delivers every call when the endpoint process is SIGKILLed mid-request and restarted', async () => {
    await killedMidRequest('killed', { batchDelivery: false })
  })

  it('with batched delivery, delivers every call when the endpoint is SIGKILLed mid-batch and restarted', async () => {
    // Answers streamed before the kill are recorded; the calls of a batch left unanswered are retried.
    await killedMidRequest('killed-batched', { batchDelivery: { maxCalls: 16 } })
  })

  it('retries an attempt that hangs past the attempt timeout, and gives up on one that always hangs', async () => {
    const t = await startTestScheduler(join(folder, 'hang.db'), {
      retry: { initialBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 3, attemptTimeoutMs: 300 },
    })
    const hanging: import('node:http').ServerResponse[] = []
    const effects = new Map<string, number>()
    const { url, server } = await rawEndpoint((request, attempt, res) => {
      if (request.function === 'always' || attempt === 1) {
        hanging.push(res) // never answered
        return
      }
      effects.set(request.dispatchId, 1)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"STATUS_OK","exit":{"result":{}}}')
    })
    try {
      const [once, always] = await t.dispatch([
        { endpoint: url, function: 'once', input: value([]) },
        { endpoint: url, function: 'always', input: value([]) },
      ])
      const report = await checkInvariants(t.calls, new Set([once!, always!]), effects)
      tally(report)
      expect(await t.settle(once!)).toMatchObject({ state: 'succeeded', attempts: 2 })
      expect(await t.settle(always!)).toMatchObject({ state: 'failed', status: 'STATUS_TIMEOUT', attempts: 3 })
    } finally {
      for (const res of hanging) res.destroy()
      await close(server)
      await t.scheduler.close()
    }
  })

  it('retries an endpoint that closes connections, and gives up when it always does', async () => {
    const t = await startTestScheduler(join(folder, 'close.db'), {
      retry: { initialBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 4, attemptTimeoutMs: 5000 },
    })
    const effects = new Map<string, number>()
    const { url, server } = await rawEndpoint((request, attempt, res) => {
      if (request.function === 'always' || attempt <= 2) {
        res.socket?.destroy()
        return
      }
      effects.set(request.dispatchId, 1)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"STATUS_OK","exit":{"result":{}}}')
    })
    try {
      const [flaky, always] = await t.dispatch([
        { endpoint: url, function: 'flaky', input: value([]) },
        { endpoint: url, function: 'always', input: value([]) },
      ])
      tally(await checkInvariants(t.calls, new Set([flaky!, always!]), effects))
      expect(await t.settle(flaky!)).toMatchObject({ state: 'succeeded', attempts: 3 })
      const failed = await t.settle(always!)
      expect(failed).toMatchObject({ state: 'failed', attempts: 4 })
      expect(failed.status).not.toBe('STATUS_OK')
    } finally {
      await close(server)
      await t.scheduler.close()
    }
  })

  it('fails an answer that is not a RunResponse with INVALID_RESPONSE, without retrying it', async () => {
    const t = await startTestScheduler(join(folder, 'garbage.db'), {
      retry: { initialBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 10, attemptTimeoutMs: 5000 },
    })
    const answers: Record<string, string> = {
      notJson: 'garbage{',
      empty: '',
      array: '[]',
      badStatus: '{"status":"STATUS_NOPE","exit":{"result":{}}}',
      noStatus: '{"exit":{"result":{}}}',
      badExit: '{"status":"STATUS_OK","exit":"yes"}',
      binary: '\u0000\u00ff\u00fe',
      // A RunResponse too deeply nested to store (it overflowed JSON.stringify in the store).
      deep: `{"status":"STATUS_OK","exit":{"result":{"output":{"@type":"type.googleapis.com/google.protobuf.Value","value":${'['.repeat(100_000)}${']'.repeat(100_000)}}}}}`,
    }
    const { url, server } = await rawEndpoint((request, _attempt, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(answers[request.function] ?? '')
    })
    try {
      const names = Object.keys(answers)
      const ids = await t.dispatch(names.map((name) => ({ endpoint: url, function: name, input: value([]) })))
      tally(await checkInvariants(t.calls, new Set(ids), new Map()))
      for (const id of ids) {
        expect(await t.settle(id)).toMatchObject({ state: 'failed', status: 'STATUS_INVALID_RESPONSE', attempts: 1 })
      }
    } finally {
      await close(server)
      await t.scheduler.close()
    }
  })
})

async function waitFor(check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
