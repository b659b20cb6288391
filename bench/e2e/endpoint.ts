/**
 * The benchmark's endpoint, in its own process: Fastify with the real dispatch plugin (signature
 * check and input/output validation on) serving one no-op function. A call whose input is a number
 * is a latency probe: the number is when it was dispatched (ms, `performance.timeOrigin + now()`),
 * and the endpoint keeps the dispatch-to-start delay. GET /latencies hands them over and forgets them.
 * DISPATCH_VERIFICATION_KEY is the scheduler's key; prints its port on stdout.
 */
import Fastify from 'fastify'
import { Type } from 'typebox'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { defineRoutes, tupleSchema } from '../../runtime/route.js'

const now = () => performance.timeOrigin + performance.now()
let latencies: number[] = []
let ran = 0
const routes = defineRoutes({
  noop: {
    input: tupleSchema([Type.Number()], 0),
    output: undefined,
    source: 'bench/e2e/endpoint.ts:1',
    handler: (sentAt?: number) => {
      ran++
      if (sentAt !== undefined) latencies.push(now() - sentAt)
    },
  },
})

const app = Fastify({ logger: false })
await app.register(dispatchPlugin, {
  routes,
  verificationKey: process.env['DISPATCH_VERIFICATION_KEY']!,
  endpointUrl: () => app.listeningOrigin,
  verifyOffThread: process.env['BENCH_OFF_THREAD'] === '1',
})
app.get('/ran', async () => ({ ran }))
app.get('/latencies', async () => {
  const taken = latencies
  latencies = []
  return { ran, latencies: taken }
})
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
// The benchmark holds our stdin: when it exits, however it exits, so do we.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
