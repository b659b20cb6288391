import { compileRoutes } from '../../runtime/fastify/compileRoutes.js'
import { createRunHandler } from '../../runtime/fastify/createRunHandler.js'
import { generateSigningKeyPair, parsePrivateKey, parsePublicKey, signRequest } from '../../runtime/signing/index.js'
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

async function measure(
  handle: (r: Parameters<ReturnType<typeof createRunHandler>>[0]) => Promise<unknown>,
  request: Parameters<ReturnType<typeof createRunHandler>>[0],
  iterations: number,
): Promise<number> {
  for (let i = 0; i < 2000; i++) await handle(request)
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint()
    await handle(request)
    samples.push(Number(process.hrtime.bigint() - start) / 1000)
  }
  return median(samples)
}

/** Median per-request cost of the endpoint's handling, in-process (no HTTP), in µs. */
export async function measureOverhead(iterations = 20_000): Promise<Overhead> {
  const pair = generateSigningKeyPair()
  const privateKey = parsePrivateKey(pair.privateKeyPem, 'bench')
  const publicKey = parsePublicKey(pair.publicKeyPem, 'bench')
  const body = Buffer.from(JSON.stringify(RUN_REQUEST))
  const authority = '127.0.0.1:8000'
  const signature = signRequest({
    method: 'POST',
    url: `http://${authority}${RUN_PATH}`,
    headers: { 'content-type': 'application/json' },
    body,
    privateKey,
  })
  const request = {
    method: 'POST',
    path: RUN_PATH,
    authority,
    headers: {
      host: authority,
      'content-type': 'application/json',
      'content-length': String(body.length),
      ...signature,
    },
    body,
  }
  const compiled = compileRoutes(routes)
  const common = { routes: compiled, classifiers: new Map(), endpoint: undefined }
  const signed = createRunHandler({ ...common, publicKey })
  const check = (await signed(request)) as { statusCode: number; body: string }
  if (check.statusCode !== 200 || !check.body.includes('STATUS_OK'))
    throw new Error(`bench request refused: ${check.body}`)
  const unsigned = createRunHandler({ ...common, publicKey: undefined })

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
    totalUs: await measure(signed, request, iterations),
    withoutVerifyUs: await measure(unsigned, request, iterations),
    ed25519Us: median(samples),
  }
}
