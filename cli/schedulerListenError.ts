import { dspError } from 'dispatch-functions/protocol'

/**
 * A scheduler that could not listen on its port becomes DSP4021 naming the port and the `--port`
 * flag; any other start-up error is returned as it was.
 */
export function schedulerListenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') return error
  const what =
    code === 'EADDRINUSE' ? 'another process already listens there' : code === 'EACCES' ? 'permission denied' : code
  return dspError('DSP4021', `the scheduler cannot listen on ${host}:${port}: ${what}`, {
    hint: 'pass another port with --port (--port 0 picks a free one), or stop the process that holds it',
    cause: error,
  })
}
