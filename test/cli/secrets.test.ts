import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder } from '../scheduler/helpers.js'
import { runCli } from './runCli.js'

// Secrets given to the CLI: from the environment or an owner-only file; a flag works but warns (ps shows it).
let dir: string
let test: TestScheduler
let env: Record<string, string>

beforeAll(async () => {
  dir = await tempFolder('dispatch-secrets-')
  test = await startTestScheduler(join(dir, 'dispatch.db'))
  env = { DISPATCH_API_URL: test.scheduler.url, DISPATCH_API_KEY: '' }
})
afterAll(async () => {
  await test.scheduler.close()
  await removeFolder(dir)
})

function keyFile(name: string, mode: number, content = `${test.scheduler.apiKey}\n`): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  chmodSync(path, mode)
  return path
}

describe('dispatch calls: the API key', () => {
  it('reads DISPATCH_API_KEY without a warning', async () => {
    const result = await runCli(['calls', 'stats', '--json'], { ...env, DISPATCH_API_KEY: test.scheduler.apiKey })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
  })

  it('reads --api-key-file from an owner-only file without a warning', async () => {
    const result = await runCli(['calls', 'stats', '--json', '--api-key-file', keyFile('api-key', 0o600)], env)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
  })

  it('takes --api-key but warns that ps shows it, naming DISPATCH_API_KEY and --api-key-file', async () => {
    const result = await runCli(['calls', 'stats', '--json', '--api-key', test.scheduler.apiKey], env)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('warning: --api-key')
    expect(result.stderr).toContain('(ps)')
    expect(result.stderr).toContain('DISPATCH_API_KEY')
    expect(result.stderr).toContain('--api-key-file')
    expect(result.stderr).not.toContain(test.scheduler.apiKey)
  })

  it('refuses a key file other users may write (DSP3040, exit 1), without printing the key', async () => {
    const path = keyFile('open-api-key', 0o666)
    const result = await runCli(['calls', 'stats', '--api-key-file', path], env)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('DSP3040')
    expect(result.stderr).toContain(`chmod 600 ${path}`)
    expect(result.stderr).not.toContain(test.scheduler.apiKey)
  })

  it('refuses a missing or empty key file (DSP4010) and both flags at once (DSP4011), exit 2', async () => {
    const missing = await runCli(['calls', 'stats', '--api-key-file', join(dir, 'nope')], env)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('DSP4010')
    expect(missing.stderr).toContain('ENOENT')
    const empty = await runCli(['calls', 'stats', '--api-key-file', keyFile('empty', 0o600, '\n')], env)
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain('DSP4010')
    const both = await runCli(['calls', 'stats', '--api-key', 'x', '--api-key-file', keyFile('k', 0o600)], env)
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('DSP4011')
  })
})

describe('dispatch scheduler: key files beside the database', () => {
  it('refuses to start when the API key file is group-writable (DSP3040, exit 1), naming the fix', async () => {
    const db = join(dir, 'scheduler.db')
    const path = keyFile('scheduler.db.api-key', 0o660, 'dsp_planted\n')
    const result = await runCli(['scheduler', '--db', db, '--port', '0'], {
      DISPATCH_API_KEY: '',
      DISPATCH_DATABASE_URL: '',
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('DSP3040')
    expect(result.stderr).toContain(`${db}.api-key`)
    expect(result.stderr).toContain('0660')
    expect(result.stderr).toContain(`chmod 600 ${path}`)
    expect(result.stderr).not.toContain('dsp_planted')
  })
})
