/**
 * One benchmark target in its own process: `endpoint` (the plugin, signing and validation on),
 * `endpoint-offthread` (the same, Ed25519 on the thread pool), `endpoint-nosig` (no signature check) or `fastify` (a bare route that parses
 * JSON and returns). Prints its port on stdout.
 */
import Fastify from 'fastify'
import { dispatchPlugin } from '../../runtime/fastify/index.js'
import { RUN_PATH, routes } from './benchRoutes.js'

const mode = process.argv[2] ?? 'endpoint'
const app = Fastify({ logger: false })
if (mode === 'fastify') {
  app.post(RUN_PATH, async (request) => {
    const body = request.body as { input: { value: [string, { tags: string[] }] } }
    return {
      status: 'STATUS_OK',
      exit: {
        result: {
          output: {
            '@type': 'type.googleapis.com/google.protobuf.Value',
            value: { accepted: true, tags: body.input.value[1].tags.length },
          },
        },
      },
    }
  })
} else {
  await app.register(dispatchPlugin, {
    routes,
    verifyOffThread: mode === 'endpoint-offthread',
    endpointUrl: () => app.listeningOrigin,
    ...(mode === 'endpoint-nosig' ? { verificationKey: false as const } : {}),
  })
}
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address() as { port: number }
process.stdout.write(`${address.port}\n`)
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
