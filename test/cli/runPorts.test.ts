import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from './runCli.js'
import { startCli } from './startCli.js'

// `dispatch run` gives the app a port of its own (PORT and DISPATCH_ENDPOINT_URL agree), refuses a
// taken --app-port, and a taken scheduler port is a coded error naming --port.
const dir = mkdtempSync(join(tmpdir(), 'dispatch-ports-'))
const held: Server[] = []
afterAll(async () => {
  await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))))
  rmSync(dir, { recursive: true, force: true })
})

/** Listens on 127.0.0.1 (a free port) until the tests end: a port some other process holds. */
async function occupiedPort(): Promise<number> {
  const server = createServer()
  held.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

// The app: listens on PORT (so two apps on one port could not both start) and reports what it got.
const listeningApp = `
const server = require('node:net').createServer()
server.listen(Number(process.env.PORT), '127.0.0.1', () =>
  console.error('app: PORT=' + process.env.PORT + ' endpoint=' + process.env.DISPATCH_ENDPOINT_URL))
process.once('SIGTERM', () => server.close(() => process.exit(0)))`

describe('dispatch run: the application port', () => {
  it('gives two runs at once different free ports, as PORT and in DISPATCH_ENDPOINT_URL', async () => {
    const runs = ['one', 'two'].map((name) =>
      startCli(['run', '--db', join(dir, `${name}.db`), '--port', '0', '--', process.execPath, '-e', listeningApp]),
    )
    try {
      const seen = await Promise.all(runs.map((run) => run.waitForStderr(/app: PORT=(\d+) endpoint=(\S+)/)))
      const ports = seen.map((match) => Number(match[1]))
      expect(ports[0]).not.toBe(ports[1])
      for (const [i, match] of seen.entries()) {
        expect(match[2]).toBe(`http://127.0.0.1:${ports[i]}`)
        expect(runs[i]!.stderr()).toContain(
          `your app gets PORT=${ports[i]} and is called at http://127.0.0.1:${ports[i]}`,
        )
      }
    } finally {
      await Promise.all(runs.map((run) => run.stop()))
    }
  })

  it('uses a free --app-port', async () => {
    const port = await occupiedPort()
    await new Promise((resolve) => held.pop()!.close(resolve))
    const result = await runCli([
      'run',
      '--db',
      join(dir, 'free.db'),
      '--port',
      '0',
      '--app-port',
      String(port),
      '--',
      process.execPath,
      '-e',
      'console.log(process.env.PORT + " " + process.env.DISPATCH_ENDPOINT_URL)',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(`${port} http://127.0.0.1:${port}`)
  })

  it('refuses an --app-port another process listens on (DSP4020) and does not start the app', async () => {
    const port = await occupiedPort()
    const marker = join(dir, 'app-started')
    const result = await runCli([
      'run',
      '--db',
      join(dir, 'taken.db'),
      '--port',
      '0',
      '--app-port',
      String(port),
      '--',
      process.execPath,
      '-e',
      `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`,
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`DSP4020: --app-port ${port}: another process already listens on 127.0.0.1:${port}`)
    expect(result.stderr).toMatch(/hint: .*leave --app-port out/)
    expect(existsSync(marker)).toBe(false)
  })
})

describe('a scheduler port in use', () => {
  it.each([
    ['dispatch run', (port: number) => ['run', '--db', join(dir, 'r.db'), '--port', String(port), '--', 'true']],
    ['dispatch scheduler', (port: number) => ['scheduler', '--db', join(dir, 's.db'), '--port', String(port)]],
  ])('%s: DSP4021 with a hint naming --port, exit 1', async (_name, args) => {
    const port = await occupiedPort()
    const result = await runCli(args(port))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `DSP4021: the scheduler cannot listen on 127.0.0.1:${port}: another process already listens there`,
    )
    expect(result.stderr).toMatch(/hint: pass another port with --port \(--port 0 picks a free one\)/)
    expect(result.stderr).not.toMatch(/unexpected error/)
  })
})
