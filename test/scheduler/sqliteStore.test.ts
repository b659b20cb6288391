import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqliteStore, type SqliteStore } from '../../scheduler/store/sqliteStore.js'
import { retentionConformance } from './retentionConformance.js'
import { storeConformance } from './storeConformance.js'

const folders: string[] = []
async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dispatch-sqlite-'))
  folders.push(dir)
  return join(dir, 'nested', 'dispatch.db')
}
afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })))
})

storeConformance('SQLite', async () => openSqliteStore(await freshPath()), {
  reopen: async (store) => {
    const path = (store as SqliteStore).path
    await store.close()
    return openSqliteStore(path)
  },
})

retentionConformance('SQLite', async () => openSqliteStore(await freshPath()))

describe('SQLite store', () => {
  it('refuses a second process-level opener of the same file while the first holds it', async () => {
    const path = await freshPath()
    const first = openSqliteStore(path)
    expect(() => openSqliteStore(path, { busyTimeoutMs: 50 })).toThrow(/DSP3002|in use/)
    try {
      openSqliteStore(path, { busyTimeoutMs: 50 })
    } catch (e) {
      expect((e as { code?: string }).code).toBe('DSP3002')
    }
    await first.close()
    const second = openSqliteStore(path)
    await second.close()
  })
})
