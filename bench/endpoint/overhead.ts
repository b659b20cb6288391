import { compileRoutes } from '../../runtime/endpoint/compileRoutes.js'
import { createRunHandler } from '../../runtime/endpoint/createRunHandler.js'
import { nodeEndpointCrypto } from '../../runtime/endpoint/nodeEndpointCrypto.js'
import {
  generateSigningKeyPair,
  parsePrivateKey,
  parsePublicKey,
  ReplayCache,
  signRequest,
} from '../../runtime/signing/index.js'
import { BATCH_CONTENT_TYPE } from '../../schemas/batch.js'
import { RUN_PATH, RUN_REQUEST, routes } from './benchRoutes.js'

export interface Overhead {
  /** verify + decode + validate + run + validate output + encode, per request. */
  readonly totalUs: number
  /** The same without a verification key: what the endpoint adds beyond the Ed25519 check. */
  readonly withoutVerifyUs: number
  /** One Ed25519 verification of the signature base alone (the floor of `totalUs`). */
  readonly ed25519Us: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

type RunRequestOf = Parameters<ReturnType<typeof createRunHandler>>[0]

async function measure(
  handle: (r: RunRequestOf) => Promise<unknown>,
  request: (i: number) => RunRequestOf,
  iterations: number,
): Promise<number> {
  for (let i = 0; i < 2000; i++) await handle(request(i))
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const next = request(2000 + i)
    const start = process.hrtime.bigint()
    await handle(next)
    samples.push(Number(process.hrtime.bigint() - start) / 1000)
  }
  return median(samples)
}

/**
 * `count` requests carrying `body`, each signed apart as the scheduler signs each delivery (the
 * replay check refuses the same signature twice), signed before any clock starts; and the endpoint's
 * run handler for the bench's routes, with and without the signature check.
 */
function signedHandlers(body: Buffer, contentType: string, count: number) {
  const pair = generateSigningKeyPair()
  const privateKey = parsePrivateKey(pair.privateKeyPem, 'bench')
  const publicKey = parsePublicKey(pair.publicKeyPem, 'bench')
  const authority = '127.0.0.1:8000'
  const requests = Array.from({ length: count }, () => ({
    method: 'POST',
    path: RUN_PATH,
    authority,
    headers: {
      host: authority,
      'content-type': contentType,
      'content-length': String(body.length),
      ...signRequest({
        method: 'POST',
        url: `http://${authority}${RUN_PATH}`,
        headers: { 'content-type': contentType },
        body,
        privateKey,
      }),
    },
    body,
  }))
  const common = { routes: compileRoutes(routes), classifiers: new Map(), endpoint: undefined }
  const signed = createRunHandler({
    ...common,
    verify: nodeEndpointCrypto.verifier(publicKey, false),
    target: () => ({ authority, path: RUN_PATH }),
    replayCache: new ReplayCache(),
  })
  const unsigned = createRunHandler({ ...common, verify: undefined })
  return { requests, signed, unsigned, privateKey, publicKey }
}

/** Median per-request cost of the endpoint's handling, in-process (no HTTP), in µs. */
export async function measureOverhead(iterations = 20_000): Promise<Overhead> {
  const { requests, signed, unsigned, privateKey, publicKey } = signedHandlers(
    Buffer.from(JSON.stringify(RUN_REQUEST)),
    'application/json',
    iterations + 2001,
  )
  const check = (await signed(requests[iterations + 2000]!)) as { statusCode: number; body: string }
  if (check.statusCode !== 200 || !check.body.includes('STATUS_OK'))
    throw new Error(`bench request refused: ${check.body}`)

  const { verify, sign } = await import('node:crypto')
  const data = Buffer.alloc(400, 1)
  const sig = sign(null, data, privateKey)
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint()
    verify(null, data, publicKey, sig)
    samples.push(Number(process.hrtime.bigint() - start) / 1000)
  }
  return {
    totalUs: await measure(signed, (i) => requests[i]!, iterations),
    withoutVerifyUs: await measure(unsigned, (i) => requests[i]!, iterations),
    ed25519Us: median(samples),
  }
}

export interface BatchOverhead {
  /** Calls per batch. */
  readonly calls: number
  /** verify + decode + validate + run + validate output + encode of a whole batch, its lines all read, per call. */
  readonly perCallUs: number
  /** The same without a verification key. */
  readonly withoutVerifyPerCallUs: number
}

/**
 * Median cost of a signed batch of `calls` RunRequests (docs/protocol.md, "Batched delivery"),
 * in-process (no HTTP): one verification of the whole body, then each call decoded, validated, run and
 * its answer line encoded, until the last line is read; divided by `calls`.
 */
export async function measureBatchOverhead(calls = 32, iterations = 2000): Promise<BatchOverhead> {
  const one = JSON.stringify(RUN_REQUEST)
  const body = Buffer.from(`{"calls":[${Array.from({ length: calls }, () => one).join(',')}]}`)
  const warmUp = 200
  const { requests, signed, unsigned } = signedHandlers(body, BATCH_CONTENT_TYPE, iterations + warmUp + 1)
  /** Handles one batch and reads every line of its answer; the text of the lines. */
  const whole = async (handle: typeof signed, request: RunRequestOf) => {
    const answer = await handle(request)
    if (answer.lines === undefined) throw new Error(`bench batch refused: ${answer.body}`)
    let text = ''
    for await (const lines of answer.lines) text += lines
    return text
  }
  const check = (await whole(signed, requests[iterations + warmUp]!)).trim().split('\n')
  if (check.length !== calls || !check.every((line) => line.includes('"code":200') && line.includes('STATUS_OK'))) {
    throw new Error(`bench batch not answered as expected: ${check[0]}`)
  }
  const perCall = async (handle: typeof signed) => {
    for (let i = 0; i < warmUp; i++) await whole(handle, requests[i]!)
    const samples: number[] = []
    for (let i = 0; i < iterations; i++) {
      const next = requests[warmUp + i]!
      const start = process.hrtime.bigint()
      await whole(handle, next)
      samples.push(Number(process.hrtime.bigint() - start) / 1000 / calls)
    }
    return median(samples)
  }
  return { calls, perCallUs: await perCall(signed), withoutVerifyPerCallUs: await perCall(unsigned) }
}
