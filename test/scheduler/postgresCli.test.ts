import { randomBytes } from 'node:crypto'
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
