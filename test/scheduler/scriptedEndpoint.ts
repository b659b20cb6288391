import Fastify, { type FastifyInstance } from 'fastify'
import type { RunRequest } from '../../schemas/run.js'

/** What a call dispatched to the scripted endpoint carries as its input's value. */
export interface Script {
  /** The body the endpoint answers on the call's first run (any JSON: it need not be a RunResponse). */
  readonly answer?: unknown
}

/**
 * A real endpoint (Fastify on 127.0.0.1) that answers each first run with the RunResponse its input
 * carries (`{answer}`), so a test crafts any answer the scheduler may get. Without one it succeeds
 * with its input. A resumed turn fails with the `pollResult.error` it was handed (the scheduler's
 * refusal of the Poll's calls), or succeeds with `"resumed"`.
 */
export async function startScriptedEndpoint(): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ bodyLimit: 64 * 1024 * 1024 })
  app.post('/dispatch.sdk.v1.FunctionService/Run', async (req, reply) => {
    const request = req.body as RunRequest
    const ok = (v: unknown) => ({
      status: 'STATUS_OK',
      exit: { result: { output: { '@type': 'type.googleapis.com/google.protobuf.Value', value: v } } },
    })
    if (request.pollResult !== undefined) {
      const error = request.pollResult.error
      return error === undefined ? ok('resumed') : { status: 'STATUS_PERMANENT_ERROR', exit: { result: { error } } }
    }
    const script = request.input?.value as Script | undefined
    if (script === null || typeof script !== 'object' || !('answer' in script)) return ok(request.input?.value ?? null)
    return reply.header('content-type', 'application/json').send(JSON.stringify(script.answer))
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, app }
}
