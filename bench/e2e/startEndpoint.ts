import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Starts the benchmark endpoint (bench/e2e/endpoint.ts: the real dispatch plugin, signature check and
 * validation on) in its own process; it exits when this process does (it holds the endpoint's stdin).
 * With `profileDir`, the endpoint runs under `--cpu-prof` and writes its profile there when it exits
 * (Node refuses `--cpu-prof` in NODE_OPTIONS, so the flag has to be passed here).
 */
export function startEndpoint(
  verificationKey: string,
  offThread = false,
  profileDir?: string,
): Promise<{ child: ChildProcess; url: string }> {
  const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/e2e/endpoint.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, DISPATCH_VERIFICATION_KEY: verificationKey, BENCH_OFF_THREAD: offThread ? '1' : '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) =>
      resolve({ child, url: `http://127.0.0.1:${Number(chunk.toString().trim())}` }),
    )
    child.once('exit', (code) => reject(new Error(`endpoint exited with ${code}`)))
  })
}

/** How many calls the endpoint ran, and the dispatch-to-start delays of the probes since the last ask. */
export async function endpointRan(endpoint: string): Promise<number> {
  const { ran } = (await fetch(`${endpoint}/ran`).then((r) => r.json())) as { ran: number }
  return ran
}

/** The probes' dispatch-to-start delays (ms) recorded since the last call, sorted; the endpoint forgets them. */
export async function takeLatencies(endpoint: string): Promise<number[]> {
  const { latencies } = (await fetch(`${endpoint}/latencies`).then((r) => r.json())) as { latencies: number[] }
  return latencies.sort((a, b) => a - b)
}
