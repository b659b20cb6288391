import { fsync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { WalSync } from '../../scheduler/store/walSync.js'

const folders: string[] = []
afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A real file to sync, and an fsync held until released (the real one then runs). */
async function gated() {
  const dir = await mkdtemp(join(tmpdir(), 'dispatch-walsync-'))
  folders.push(dir)
  const path = join(dir, 'db-wal')
  writeFileSync(path, 'frames')
  const held: (() => void)[] = []
  let syncs = 0
  let failNext: Error | undefined
  const wal = new WalSync(path, (fd, done) => {
    syncs++
    const failure = failNext
    failNext = undefined
    held.push(() => (failure === undefined ? fsync(fd, done) : done(failure as NodeJS.ErrnoException)))
  })
  return {
    wal,
    held,
    syncs: () => syncs,
    failNext: (error: Error) => {
      failNext = error
    },
    release: () => {
      for (const go of held.splice(0)) go()
    },
  }
}

/** Whether `promise` has settled after the pending callbacks of this turn ran. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise((resolve) => setImmediate(resolve))
  return settled
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('WalSync: durable writes resolve after an fsync of the WAL, shared by the writes meanwhile', () => {
  it('holds a write until its fsync has run, and reads until every write before them is on disk', async () => {
    const g = await gated()
    expect(await settledYet(g.wal.settled())).toBe(true) // nothing written: a read waits for nothing
    const write = g.wal.committedNow()
    const read = g.wal.settled()
    expect(await settledYet(write)).toBe(false)
    expect(await settledYet(read)).toBe(false)
    expect(g.syncs()).toBe(1)
    g.release()
    await write
    await read
    expect(await settledYet(g.wal.settled())).toBe(true)
  })

  it('serves the writes committed during an fsync with one more fsync (group commit)', async () => {
    const g = await gated()
    const first = g.wal.committedNow()
    const later = [g.wal.committedNow(), g.wal.committedNow(), g.wal.committedNow()]
    expect(g.syncs()).toBe(1)
    g.release()
    await first
    // The three were committed after the first fsync began: it may not cover them.
    expect(await settledYet(Promise.all(later))).toBe(false)
    await until(() => g.held.length === 1)
    expect(g.syncs()).toBe(2)
    g.release()
    await Promise.all(later)
    expect(g.syncs()).toBe(2)
  })

  it('fails every waiting write when a sync fails, and every later one: a failed sync is final', async () => {
    const g = await gated()
    g.failNext(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
    const write = g.wal.committedNow()
    const read = g.wal.settled()
    g.release()
    await expect(write).rejects.toThrow('could not be synced to disk (EIO')
    await expect(read).rejects.toThrow('restart the scheduler')
    // A later sync could succeed and prove nothing about the frames before it: no more syncs.
    await expect(g.wal.committedNow()).rejects.toMatchObject({ code: 'EIO' })
    expect(g.wal.failed?.message).toContain('writes since the last sync may be lost')
    expect(g.syncs()).toBe(1)
  })

  it('counts claims, which nobody waits for, so that a later read waits for their sync', async () => {
    const g = await gated()
    g.wal.committedUnwaited()
    expect(g.syncs()).toBe(0)
    const read = g.wal.settled()
    expect(await settledYet(read)).toBe(false)
    expect(g.syncs()).toBe(1)
    g.release()
    await read
  })

  it('closes the file only once no sync runs, even for a write committed while closing', async () => {
    const g = await gated()
    const first = g.wal.committedNow()
    const closing = g.wal.close()
    const second = g.wal.committedNow()
    g.release()
    await first
    await until(() => g.held.length === 1)
    expect(await settledYet(closing)).toBe(false)
    g.release()
    await second
    await closing
  })

  it('waits for the pending writes at close, and refuses to sync after it', async () => {
    const g = await gated()
    const write = g.wal.committedNow()
    const closing = g.wal.close()
    expect(await settledYet(closing)).toBe(false)
    g.release()
    await write
    await closing
    await expect(g.wal.committedNow()).rejects.toThrow('closed')
  })
})
