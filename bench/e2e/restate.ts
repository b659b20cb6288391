/**
 * The Restate baseline: the closest peer of our architecture (a durable server pushing calls to an
 * HTTP endpoint). restate-server (the binary in `@restatedev/restate-server`, bound to 127.0.0.1,
 * data in a temporary folder) and the SDK serving a one-step handler (bench/e2e/restateService.ts),
 * invoked through the ingress by 50 concurrent clients; calls per second and per-call latency p50.
 * Not a dependency (~225 MB): `npm install --prefix bench/.peers @restatedev/restate-server
 * @restatedev/restate-sdk`. Skipped, with a message, when not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BINARY = join(ROOT, 'bench/.peers/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server')
const INGRESS = 18080
const ADMIN = 19070
const SERVICE = 19080

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export async function runRestate(
  calls: number,
  log: (line: string) => void,
): Promise<{ perS: number; p50Ms: number } | undefined> {
  if (!existsSync(BINARY)) {
    log(
      'restate: not installed (npm install --prefix bench/.peers @restatedev/restate-server @restatedev/restate-sdk); skipped',
    )
    return undefined
  }
  const folder = await mkdtemp(join(tmpdir(), 'dispatch-bench-restate-'))
  const children: ChildProcess[] = []
  try {
    const server = spawn(
      BINARY,
      ['--bind-ip', '127.0.0.1', '--bind-port', '15122', '--listen-mode', 'tcp', '--no-logo', '--base-dir', folder],
      {
        env: {
          ...process.env,
          RESTATE_INGRESS__BIND_PORT: String(INGRESS),
          RESTATE_ADMIN__BIND_PORT: String(ADMIN),
          RESTATE_ADMIN__QUERY_ENGINE__PGSQL_BIND_ADDRESS: '127.0.0.1:19071',
          RESTATE_LOG_FILTER: 'error',
        },
        // Its log (including a failed check for updates, offline) is not the benchmark's output.
        stdio: 'ignore',
      },
    )
    children.push(server)
    const service = spawn(process.execPath, ['--import', 'tsx', 'bench/e2e/restateService.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_RESTATE_SERVICE_PORT: String(SERVICE) },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    children.push(service)
    await new Promise<void>((resolve, reject) => {
      service.stdout!.once('data', () => resolve())
      service.once('exit', (code) => reject(new Error(`the Restate service exited with ${code}`)))
    })
    await until('restate admin', async () => ((await fetch(`http://127.0.0.1:${ADMIN}/health`)).ok ? true : undefined))
    await until('restate registration', async () => {
      const response = await fetch(`http://127.0.0.1:${ADMIN}/deployments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uri: `http://127.0.0.1:${SERVICE}`, force: true }),
      })
      return response.ok ? true : undefined
    })
    const pool = new Pool(`http://127.0.0.1:${INGRESS}`, { connections: 50 })
    const invoke = async (): Promise<number> => {
      const started = performance.now()
      const response = await pool.request({
        method: 'POST',
        path: '/Bench/noop',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
      await response.body.text()
      if (response.statusCode !== 200) throw new Error(`restate ingress answered ${response.statusCode}`)
      return performance.now() - started
    }
    await until('restate ingress', async () => ((await invoke()) >= 0 ? true : undefined))
    for (let i = 0; i < 200; i++) await invoke() // warm-up
    const latencies: number[] = []
    let sent = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (sent < calls) {
          sent++
          latencies.push(await invoke())
        }
      }),
    )
    const perS = Math.round(calls / ((performance.now() - started) / 1000))
    latencies.sort((a, b) => a - b)
    const p50Ms = Math.round(latencies[Math.floor(latencies.length / 2)]! * 100) / 100
    log(`restate: ${calls} one-step calls through the ingress, 50 clients: ${perS} calls/s, p50 ${p50Ms} ms`)
    await pool.close()
    return { perS, p50Ms }
  } catch (error) {
    log(`restate: failed (${(error as Error).message}); skipped`)
    return undefined
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve))),
      ),
    )
    await rm(folder, { recursive: true, force: true })
  }
}
