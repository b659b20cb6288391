import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, runScript } from './runCli.js'

const dir = mkdtempSync(join(tmpdir(), 'dispatch-run-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const printEnv = `
const v = (k) => process.env[k] ?? ''
console.log(JSON.stringify({
  api: v('DISPATCH_API_URL'), key: v('DISPATCH_API_KEY').length, endpoint: v('DISPATCH_ENDPOINT_URL'), port: v('PORT'),
  verification: v('DISPATCH_VERIFICATION_KEY').includes('BEGIN PUBLIC KEY'),
}))
process.exit(7)`

describe('dispatch run', () => {
  it('starts the command with the DISPATCH_* variables and exits with its code', async () => {
    // A DISPATCH_ENDPOINT_URL left in the shell (by `dispatch env` of another run) is not followed.
    const result = await runCli(
      ['run', '--db', join(dir, 'a.db'), '--port', '0', '--', process.execPath, '-e', printEnv],
      { DISPATCH_ENDPOINT_URL: 'http://127.0.0.1:8000' },
    )
    expect(result.code, result.stderr).toBe(7)
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
    expect(seen['api']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(seen['key']).toBeGreaterThanOrEqual(32)
    expect(seen['port']).toMatch(/^\d+$/)
    expect(seen['endpoint']).toBe(`http://127.0.0.1:${seen['port']}`)
    expect(seen['verification']).toBe(true)
  })

  it('passes --endpoint to the command', async () => {
    const result = await runCli([
      'run',
      '--db',
      join(dir, 'b.db'),
      '--port',
      '0',
      '--endpoint',
      'http://127.0.0.1:9999',
      '--',
      process.execPath,
      '-e',
      printEnv,
    ])
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ endpoint: 'http://127.0.0.1:9999' })
  })

  it('passes --allow-endpoint to the scheduler, and warns when it excludes the app', async () => {
    // The app dispatches to an allowed and to another endpoint, and prints the statuses it got.
    const dispatch = `
const post = (endpoint) => fetch(process.env.DISPATCH_API_URL + '/dispatch.sdk.v1.DispatchService/Dispatch', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.DISPATCH_API_KEY },
  body: JSON.stringify({ calls: [{ endpoint, function: 'f', delay: '3600s' }] }),
}).then((r) => r.status)
Promise.all([post('http://127.0.0.1:9/app'), post('http://127.0.0.1:10/')]).then((s) => console.log(s.join(' ')))`
    const result = await runCli([
      'run',
      '--db',
      join(dir, 'allow.db'),
      '--port',
      '0',
      '--allow-endpoint',
      'http://127.0.0.1:9/',
      '--',
      process.execPath,
      '-e',
      dispatch,
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim().split('\n').at(-1)).toBe('200 403')
    expect(result.stderr).toMatch(/--allow-endpoint does not allow your app's endpoint/)
  })

  it('keeps its keys across restarts (kept beside the database)', async () => {
    const key = `console.log(process.env.DISPATCH_API_KEY + ' ' + JSON.stringify(process.env.DISPATCH_VERIFICATION_KEY))`
    const args = ['run', '--db', join(dir, 'c.db'), '--port', '0', '--', process.execPath, '-e', key]
    const env = { DISPATCH_API_KEY: '', DISPATCH_SIGNING_KEY: '' }
    const first = await runCli(args, env)
    const second = await runCli(args, env)
    expect(first.code, first.stderr).toBe(0)
    expect(second.stdout).toBe(first.stdout)
  })

  it('says so when the command does not exist', async () => {
    const result = await runCli(['run', '--db', join(dir, 'd.db'), '--port', '0', '--', 'no-such-command-xyz'])
    expect(result.code).toBe(127)
    expect(result.stderr).toMatch(/DSP4002: command not found: no-such-command-xyz/)
  })

  it('runs the quickstart end to end: every publish call completes, retried ones included', async () => {
    const { code, stdout, stderr } = await runScript('examples/quickstart/demo.ts', [], { QUICKSTART_CALLS: '40' })
    const out = stdout + stderr
    expect(code, out).toBe(0)
    expect(out).toMatch(/succeeded \(STATUS_OK\)\s+40/)
    expect(out).toMatch(/HTTP 503\s+\d+/)
    expect(out).toMatch(/payloads delivered: 40 of 40/)
    // Not a terminal: dispatch run logs plain summary lines, the last one with every call succeeded.
    // The endpoint's adaptive concurrency follows the counts: nothing in flight at the end.
    expect(out).toMatch(
      /dispatch: publish: 0 pending, 0 running, 40 succeeded, 0 failed \| endpoint http:\/\/127\.0\.0\.1:\d+: 0 in flight, limit \d+ \(bounds 1-100\)\n/,
    )
  })

  it('runs the Express (node:http handler), Hono and Next.js (fetch handler) examples end to end: signed, a durable coroutine', async () => {
    // All at once: each is its own `dispatch run`, with its own scheduler and ports. The Next.js one
    // builds the app first (`next build`) and serves it with `next start`: a real route handler.
    const runs = await Promise.all([
      runScript('examples/express/demo.ts'),
      runScript('examples/hono/demo.ts'),
      runScript('examples/nextjs/demo.ts', [], {}, 240_000),
    ])
    for (const [name, { code, stdout, stderr }] of [
      ['express', runs[0]],
      ['hono', runs[1]],
      ['nextjs', runs[2]],
    ] as const) {
      const out = stdout + stderr
      expect(code, out).toBe(0)
      expect(out).toContain(`${name}: greetAll answered ["hello Ada (call `)
      expect(out).toMatch(
        /greet: 0 pending, 0 running, 3 succeeded, 0 failed \| greetAll: 0 pending, 0 running, 1 succeeded/,
      )
    }
  }, 300_000)
})
