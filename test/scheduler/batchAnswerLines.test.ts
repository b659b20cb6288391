import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BATCH_CONTENT_TYPE, BATCH_HEADER, BATCH_STREAM_CONTENT_TYPE } from '../../schemas/batch.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

// An endpoint that speaks the batch extension wrongly, scripted line by line: the scheduler keeps the
// answers it can read and retries the calls left without one, each attempt recorded with the reason.

interface Request {
  readonly function: string
  readonly input: { value: string }
}

/** The inputs already answered once: a victim misbehaves the first time only, so its retry succeeds. */
const seen = new Set<string>()
let batches = 0

const okAnswer = (request: Request) =>
  JSON.stringify({ status: 'STATUS_OK', exit: { result: { output: request.input } } })
const line = (i: number, answer: string) => `{"i":${i},"code":200,"answer":${answer}}\n`

/** The NDJSON answer to a batch: every call answered, but for the victims on their first time. */
function batchAnswer(calls: readonly Request[]): string {
  let text = ''
  let tail = ''
  calls.forEach((call, i) => {
    const first = !seen.has(call.input.value)
    seen.add(call.input.value)
    if (!first || !call.function.startsWith('victim_')) {
      text += line(i, okAnswer(call))
      return
    }
    switch (call.function) {
      case 'victim_cutOff':
        // The endpoint died mid-line: the last line has neither its end nor its newline.
        tail = line(i, okAnswer(call)).slice(0, 20)
        break
      case 'victim_shape':
        text += `{"index":${i},"result":"ok"}\n`
        break
      case 'victim_outOfRange':
        text += line(calls.length + 7, okAnswer(call))
        break
      case 'victim_repeated':
        // Call 0 answered a second time (with another output), instead of this one.
        tail = line(0, JSON.stringify({ status: 'STATUS_OK', exit: { result: {} } }))
        break
      default:
        // victim_dropped: no line at all.
        break
    }
  })
  return text + tail
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

let folder: string
let t: TestScheduler
let server: Server
let url: string

beforeAll(async () => {
  folder = await tempFolder()
  // Batched delivery is on by default.
  t = await startTestScheduler(join(folder, 'dispatch.db'))
  server = createServer((request, response) => {
    void bodyOf(request).then((text) => {
      const type = request.headers['content-type'] ?? ''
      if (type.startsWith(BATCH_CONTENT_TYPE)) {
        batches++
        const { calls } = JSON.parse(text) as { calls: Request[] }
        response.writeHead(200, { 'content-type': BATCH_STREAM_CONTENT_TYPE, [BATCH_HEADER]: '256' })
        response.end(batchAnswer(calls))
        return
      }
      const call = JSON.parse(text) as Request
      seen.add(call.input.value)
      response.writeHead(200, { 'content-type': 'application/json', [BATCH_HEADER]: '256' })
      response.end(okAnswer(call))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // One call alone first: its answer's header tells the scheduler this endpoint takes batches.
  const [warm] = await t.dispatch([{ endpoint: url, function: 'fast', input: value('warm') }])
  expect((await t.settle(warm!)).state).toBe('succeeded')
})

afterAll(async () => {
  await t?.scheduler.close()
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
  await removeFolder(folder)
})

interface AttemptInfo {
  readonly outcome: string
  readonly status: string
  readonly error?: { type: string; message: string }
}

describe('a batch answer with lines the scheduler cannot use', () => {
  it.each([
    [
      'victim_cutOff',
      'BatchAnswerInvalid',
      /^DSP3015: line 3 of the batch answer from http:\/\/127\.0\.0\.1:\d+ is not JSON: /,
    ],
    [
      'victim_shape',
      'BatchAnswerInvalid',
      /^DSP3015: line \d of the batch answer .* is not \{"i":index,"code":status,"answer":…\}: /,
    ],
    [
      'victim_outOfRange',
      'BatchAnswerInvalid',
      /^DSP3016: line \d of the batch answer .* answers call 10; the batch had 3 \(0 to 2\)/,
    ],
    [
      'victim_repeated',
      'BatchAnswerInvalid',
      /^DSP3016: line 3 of the batch answer .* answers call 0 a second time \(its first answer stands\)/,
    ],
    [
      'victim_dropped',
      'BatchEnded',
      /^DSP3017: http:\/\/127\.0\.0\.1:\d+ ended the batch answer after 2 of 3 lines, before this call's$/,
    ],
  ])('%s: the other calls are recorded, the unanswered one retried with a %s error', async (victim, type, message) => {
    const before = batches
    const ids = await t.dispatch([
      { endpoint: url, function: 'fast', input: value(`${victim}-a`) },
      { endpoint: url, function: 'fast', input: value(`${victim}-b`) },
      { endpoint: url, function: victim, input: value(`${victim}-v`) },
    ])
    const [a, b, v] = ids
    for (const [id, input] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      expect(await t.settle(id!)).toMatchObject({
        state: 'succeeded',
        attempts: 1,
        output: value(`${victim}-${input}`),
      })
    }
    expect(await t.settle(v!)).toMatchObject({ state: 'succeeded', output: value(`${victim}-v`) })
    expect(batches).toBeGreaterThan(before)
    const got = await t.post('/dispatch.scheduler.v1.CallService/Get', { dispatchId: v })
    const [first, ...rest] = got.body.attempts as AttemptInfo[]
    expect(first).toMatchObject({ outcome: 'retry', status: 'STATUS_TEMPORARY_ERROR', error: { type } })
    expect(first!.error!.message).toMatch(message)
    expect(rest.at(-1)).toMatchObject({ outcome: 'succeeded' })
  })
})
