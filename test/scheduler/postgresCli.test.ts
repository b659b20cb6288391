import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../scheduler/store/postgresStore.js'
import { runCli } from '../cli/runCli.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

const schema = `dispatch_cli_${randomBytes(4).toString('hex')}`
afterAll(async () => {
  const store = await openPostgresStore({ url: POSTGRES_TEST_URL, schema, poolSize: 1 })
  await store.dropSchema()
  await store.close()
})

const printKey = `console.log(JSON.stringify({ key: process.env.DISPATCH_API_KEY, api: process.env.DISPATCH_API_URL })); process.exit(3)`

describe('dispatch run/scheduler --postgres', () => {
  it('runs the app against a PostgreSQL store whose keys every node shares', async () => {
    const args = ['run', '--postgres', POSTGRES_TEST_URL, '--schema', schema, '--port', '0', '--']
    const first = await runCli([...args, process.execPath, '-e', printKey], { DISPATCH_API_KEY: '' })
    expect(first.code, first.stderr).toBe(3)
    expect(first.stderr).toContain(`schema ${schema}`)
    const a = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as { key: string; api: string }
    expect(a.key.length).toBeGreaterThanOrEqual(32)
    // Another node (or a restart) on the same schema gets the same key from the database.
    const second = await runCli([...args, process.execPath, '-e', printKey], {
      DISPATCH_API_KEY: '',
      DISPATCH_DATABASE_URL: POSTGRES_TEST_URL,
    })
    expect(JSON.parse(second.stdout.trim().split('\n').at(-1)!)).toMatchObject({ key: a.key })
  })

  it('takes --postgres with a password but warns that ps shows it; --postgres-file and the variable do not warn', async () => {
    const withPassword = new URL(POSTGRES_TEST_URL)
    withPassword.password = 'pw-visible-in-ps' // the test server trusts local connections: any password works
    const url = withPassword.toString()
    const exit3 = [process.execPath, '-e', 'process.exit(3)']
    const flag = await runCli(['run', '--postgres', url, '--schema', schema, '--port', '0', '--', ...exit3], {
      DISPATCH_DATABASE_URL: '',
    })
    expect(flag.code, flag.stderr).toBe(3)
    expect(flag.stderr).toContain('warning: --postgres')
    expect(flag.stderr).toContain('DISPATCH_DATABASE_URL')
    expect(flag.stderr).toContain('--postgres-file')
    expect(flag.stderr).not.toContain('pw-visible-in-ps')
    const dir = mkdtempSync(join(tmpdir(), 'dispatch-pgfile-'))
    try {
      const file = join(dir, 'database-url')
      writeFileSync(file, `${url}\n`, { mode: 0o600 })
      const fromFile = await runCli(
        ['run', '--postgres-file', file, '--schema', schema, '--port', '0', '--', ...exit3],
        {
          DISPATCH_DATABASE_URL: '',
        },
      )
      expect(fromFile.code, fromFile.stderr).toBe(3)
      expect(fromFile.stderr).not.toContain('warning')
      const fromEnv = await runCli(['run', '--schema', schema, '--port', '0', '--', ...exit3], {
        DISPATCH_DATABASE_URL: url,
      })
      expect(fromEnv.code, fromEnv.stderr).toBe(3)
      expect(fromEnv.stderr).not.toContain('warning')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a bad URL with a usage error (exit 2) that does not show the password', async () => {
    const flag = await runCli(['scheduler', '--postgres', 'mysql://u:hunter2@h/db', '--port', '0'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('DSP3501')
    expect(flag.stderr).not.toContain('hunter2')
    const env = await runCli(['run', '--port', '0', '--', 'true'], { DISPATCH_DATABASE_URL: 'nope://u:hunter2@h' })
    expect(env.code).toBe(2)
    expect(env.stderr).toContain('DISPATCH_DATABASE_URL')
    expect(env.stderr).not.toContain('hunter2')
    const schemaOnly = await runCli(['scheduler', '--schema', 'x', '--port', '0'], { DISPATCH_DATABASE_URL: '' })
    expect(schemaOnly.code).toBe(2)
  })
})
