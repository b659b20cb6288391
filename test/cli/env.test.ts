import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { shellQuote } from '../../cli/commands/env.js'
import { type CliResult, repoRoot, runCli } from './runCli.js'
import { startCli } from './startCli.js'

// `dispatch env` gives another terminal or script what the app under `dispatch run` gets.
const dir = mkdtempSync(join(tmpdir(), 'dispatch-env-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs a POSIX shell script from the repository root, without any DISPATCH_* variable inherited. */
function sh(script: string): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DISPATCH_')))
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

const tsx = `${JSON.stringify(process.execPath)} --import tsx`

describe('dispatch env', () => {
  it('lets a script in another process reach a running dispatch run: eval "$(dispatch env)", then a call succeeds', async () => {
    const db = join(dir, 'app.db')
    const app = startCli(
      ['run', '--db', db, '--port', '0', '--', process.execPath, '--import', 'tsx', 'test/fixtures/cli/echoApp.ts'],
      { DISPATCH_API_KEY: '', DISPATCH_SIGNING_KEY: '' },
    )
    try {
      // dispatch run says where the API is and how to get the variables, never the key itself.
      await app.waitForStderr(/eval "\$\(npx dispatch env --db \S+\)"/)
      expect(app.stderr()).toMatch(/scheduler API on http:\/\/127\.0\.0\.1:\d+/)
      // ...and where its Prometheus metrics are (on the API, with the key).
      expect(app.stderr()).toMatch(/Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics \(Authorization: Bearer/)
      // ...and where its dashboard is (served to this machine only).
      expect(app.stderr()).toMatch(/dashboard on http:\/\/127\.0\.0\.1:\d+\/ui\/ \(log in with DISPATCH_API_KEY/)
      const key = readFileSync(`${db}.api-key`, 'utf8').trim()
      expect(app.stderr()).not.toContain(key)
      expect(statSync(`${db}.run.json`).mode & 0o777).toBe(0o600)

      const printed = await runCli(['env', '--db', db])
      expect(printed.code, printed.stderr).toBe(0)
      expect(printed.stdout).toMatch(
        /^export DISPATCH_API_URL='http:\/\/127\.0\.0\.1:\d+'\nexport DISPATCH_API_KEY='[^']+'\nexport DISPATCH_ENDPOINT_URL='http:\/\/127\.0\.0\.1:\d+'\n$/,
      )

      const script = await sh(
        `eval "$(${tsx} cli/main.ts env --db ${shellQuote(db)})" && ${tsx} test/fixtures/cli/dispatchEcho.ts 'hello there'`,
      )
      expect(script.code, script.stderr).toBe(0)
      expect(script.stdout).toBe('echo: hello there\n')
    } finally {
      expect(await app.stop()).toBe(0)
    }
    // Once dispatch run has exited, its state file is gone and dispatch env says nothing runs.
    const after = await runCli(['env', '--db', db])
    expect(after.code).toBe(1)
    expect(after.stdout).toBe('')
    expect(after.stderr).toMatch(/DSP4022: no dispatch run is running with the database .*app\.db/)
    expect(after.stderr).toMatch(/hint: start one in this folder \(npx dispatch run -- <your app>\), or pass the --db/)
  })

  it('refuses a state file a dead process left (DSP4022) and one that is not JSON (DSP4023)', async () => {
    const stale = join(dir, 'stale.db')
    // A pid no process has: larger than any Linux pid_max.
    writeFileSync(
      `${stale}.run.json`,
      JSON.stringify({
        pid: 2 ** 22 + 1,
        apiUrl: 'http://127.0.0.1:1',
        apiKey: 'k',
        endpointUrl: 'http://127.0.0.1:2',
      }),
    )
    const dead = await runCli(['env', '--db', stale])
    expect(dead.code).toBe(1)
    expect(dead.stderr).toMatch(/DSP4022: .*\(pid 4194305\) has exited/)
    const broken = join(dir, 'broken.db')
    writeFileSync(`${broken}.run.json`, 'not json')
    const invalid = await runCli(['env', '--db', broken])
    expect(invalid.code).toBe(1)
    expect(invalid.stderr).toMatch(/DSP4023: .*broken\.db\.run\.json is not a state file written by dispatch run/)
  })

  it('refuses a state file other users may write (DSP3040): its lines are meant for eval', async () => {
    const planted = join(dir, 'planted.db')
    writeFileSync(
      `${planted}.run.json`,
      JSON.stringify({
        pid: process.pid,
        apiUrl: 'http://127.0.0.1:1',
        apiKey: 'k',
        endpointUrl: 'http://127.0.0.1:2',
      }),
    )
    chmodSync(`${planted}.run.json`, 0o666)
    const refused = await runCli(['env', '--db', planted])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/DSP3040: .*planted\.db\.run\.json/)
    expect(refused.stdout).toBe('')
  })

  it('quotes values for the shell', async () => {
    const value = `it's $HOME "quoted" \`x\``
    const file = join(dir, 'exports.sh')
    writeFileSync(file, `export X=${shellQuote(value)}\n`)
    const echoed = await sh(`eval "$(cat ${shellQuote(file)})"; printf %s "$X"`)
    expect(echoed.stdout).toBe(value)
  })
})
