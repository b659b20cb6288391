import { chmodSync, chownSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { generateSigningKeyPair } from '../../runtime/signing/index.js'
import { loadSchedulerKeys } from '../../scheduler/keys/loadSchedulerKeys.js'
import { openSqliteStore } from '../../scheduler/store/sqliteStore.js'
import { startTestScheduler } from './helpers.js'
import { newCall, T0 } from './newCall.js'

const folders: string[] = []
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dispatch-keys-'))
  folders.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })))
})

const modeOf = (path: string): number => statSync(path).mode & 0o777
const codeOf = (work: () => unknown): { code?: string; message: string; hint?: string } => {
  try {
    work()
  } catch (error) {
    return error as { code?: string; message: string; hint?: string }
  }
  throw new Error('expected an error')
}

describe('scheduler key files', () => {
  it('creates the key files 0600 in a folder of 0700, whatever the umask', async () => {
    const previous = process.umask(0o022)
    try {
      const db = join(await freshDir(), 'state', 'dispatch.db')
      loadSchedulerKeys({ dbPath: db, env: {} })
      expect(modeOf(`${db}.api-key`)).toBe(0o600)
      expect(modeOf(`${db}.signing-key.pem`)).toBe(0o600)
      expect(modeOf(join(db, '..'))).toBe(0o700)
    } finally {
      process.umask(previous)
    }
  })

  it('refuses an API key file other users may write (DSP3040), naming the file, its mode and chmod 600', async () => {
    const db = join(await freshDir(), 'dispatch.db')
    writeFileSync(`${db}.api-key`, 'dsp_planted\n')
    chmodSync(`${db}.api-key`, 0o666)
    const error = codeOf(() => loadSchedulerKeys({ dbPath: db, env: {} }))
    expect(error.code).toBe('DSP3040')
    expect(error.message).toContain(`${db}.api-key`)
    expect(error.message).toContain('0666')
    expect(error.message).not.toContain('dsp_planted')
    expect(error.hint).toContain(`chmod 600 ${db}.api-key`)
  })

  it('refuses a group-writable signing key file (DSP3040)', async () => {
    const db = join(await freshDir(), 'dispatch.db')
    loadSchedulerKeys({ dbPath: db, env: {} })
    chmodSync(`${db}.signing-key.pem`, 0o620)
    const error = codeOf(() => loadSchedulerKeys({ dbPath: db, env: {} }))
    expect(error.code).toBe('DSP3040')
    expect(error.message).toContain('0620')
  })

  it('refuses a key file owned by another user (DSP3040), with the chown that fixes it', async () => {
    const db = join(await freshDir(), 'dispatch.db')
    writeFileSync(`${db}.signing-key.pem`, `${generateSigningKeyPair().privateKeyPem}\n`, { mode: 0o600 })
    chownSync(`${db}.signing-key.pem`, 65534, 65534)
    const error = codeOf(() => loadSchedulerKeys({ dbPath: db, env: {} }))
    expect(error.code).toBe('DSP3040')
    expect(error.message).toContain('uid 65534')
    expect(error.hint).toMatch(new RegExp(`chown ${process.getuid?.()} .*signing-key\\.pem`))
  })

  it('uses a key file other users may only read, and warns with the chmod that fixes it', async () => {
    const db = join(await freshDir(), 'dispatch.db')
    writeFileSync(`${db}.api-key`, 'dsp_readable\n', { mode: 0o644 })
    chmodSync(`${db}.api-key`, 0o644)
    const warnings: string[] = []
    const keys = loadSchedulerKeys({ dbPath: db, env: {}, warn: (m) => warnings.push(m) })
    expect(keys.apiKey).toBe('dsp_readable')
    expect(warnings.join('\n')).toContain(`chmod 600 ${db}.api-key`)
  })
})

describe('SQLite database files', () => {
  it('creates the database and its WAL readable by the owner only (0600) under umask 022', async () => {
    const previous = process.umask(0o022)
    try {
      const db = join(await freshDir(), 'nested', 'dispatch.db')
      const store = openSqliteStore(db)
      const call = newCall()
      await store.insertCalls([call], { now: T0, idempotencyWindowMs: 1000 })
      expect(modeOf(db)).toBe(0o600)
      expect(modeOf(`${db}-wal`)).toBe(0o600)
      expect(store.tightened).toEqual([])
      await store.close()
    } finally {
      process.umask(previous)
    }
  })

  it('makes an existing world-readable database owner-only at open, and says which files it changed', async () => {
    const dir = await freshDir()
    const db = join(dir, 'dispatch.db')
    const first = openSqliteStore(db)
    await first.insertCalls([newCall()], { now: T0, idempotencyWindowMs: 1000 })
    await first.close()
    chmodSync(db, 0o644)
    const store = openSqliteStore(db)
    expect(store.tightened).toEqual([db])
    expect(modeOf(db)).toBe(0o600)
    await store.close()
  })

  it('warns in the log about the files it made owner-only when the scheduler starts', async () => {
    const db = join(await freshDir(), 'dispatch.db')
    const first = openSqliteStore(db)
    await first.close()
    chmodSync(db, 0o664)
    let log = ''
    const stream = new Writable({
      write(chunk, _encoding, done) {
        log += String(chunk)
        done()
      },
    })
    const test = await startTestScheduler(db, { logger: { stream } })
    await test.scheduler.close()
    expect(modeOf(db)).toBe(0o600)
    expect(log).toContain('owner-only')
    expect(log).toContain(db)
  })
})
