import { createServer } from 'node:net'
import { dspError } from 'dispatch-functions/protocol'

/**
 * The port `dispatch run` gives the application (as `PORT` and in `DISPATCH_ENDPOINT_URL`): the
 * requested one when nothing listens on it, else a port the system reports free. A taken port is
 * refused, since the scheduler would otherwise deliver to whatever application holds it.
 */
export async function chooseAppPort(requested: number | undefined): Promise<number> {
  try {
    return await probe(requested ?? 0)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw dspError(
      'DSP4020',
      code === 'EADDRINUSE'
        ? `--app-port ${requested}: another process already listens on 127.0.0.1:${requested}`
        : `--app-port ${requested}: cannot listen on 127.0.0.1:${requested} (${code ?? (cause as Error).message})`,
      {
        hint: 'stop that process, pass another --app-port, or leave --app-port out: dispatch run then picks a free port',
        cause,
      },
    )
  }
}

/** Listens on 127.0.0.1:port and closes again; resolves to the port that was free. */
function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      server.close(() => resolve(bound))
    })
  })
}
