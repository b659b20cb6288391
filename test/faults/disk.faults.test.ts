import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordFigures } from '../fuzz/fuzzConfig.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from '../scheduler/helpers.js'
import { DISPATCH, listAll } from './processes.js'

// The SQLite store on a full disk and on a read-only file system (a small tmpfs; mounting needs
// root, so the test is skipped without it): Dispatch answers 503 unavailable with Retry-After,
// accepts nothing it cannot keep, and works again once space or write access returns.

const figures = { accepted: 0, refused: 0, lost: 0, storedFromRefused: 0 }
let folder: string
let mountPoint: string
let mounted = false

function mount(...args: string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  folder = await tempFolder('dispatch-faults-disk-')
  mountPoint = join(folder, 'small')
  mkdirSync(mountPoint)
  mounted = mount('-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint)
})
afterAll(async () => {
  if (mounted) mount('-o', 'remount,rw', mountPoint)
  if (mounted) execFileSync('umount', [mountPoint])
  await removeFolder(folder)
  recordFigures({
    suite: 'faults: disk full, read-only',
    'calls accepted': figures.accepted,
    'calls lost': figures.lost,
    'batches refused': figures.refused,
    'calls stored from refused batches': figures.storedFromRefused,
  })
})

describe('faults: the SQLite store out of space or read-only', () => {
  it('answers 503 unavailable, keeps exactly what it acknowledged, and recovers', async (context) => {
    if (!mounted) context.skip()
    let t: TestScheduler = await startTestScheduler(join(mountPoint, 'dispatch.db'))
    const accepted = new Set<string>()
    const send = async (n: number) => {
      const calls = Array.from({ length: n }, (_, i) => ({
        endpoint: 'http://127.0.0.1:9',
        function: 'f',
        input: value(['x'.repeat(4000), i]),
        delay: '3600s',
      }))
      const response = await fetch(t.scheduler.url + DISPATCH, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.scheduler.apiKey}` },
        body: JSON.stringify({ calls }),
      })
      const answer = {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: (await response.json()) as { dispatchIds?: string[]; code?: string; message?: string },
      }
      if (answer.status === 200) for (const id of answer.body.dispatchIds ?? []) accepted.add(id)
      else figures.refused++
      return answer
    }
    const storedNow = async () => (await listAll(t.calls)).size
    const checkKept = async () => {
      const all = await listAll(t.calls)
      const lost = [...accepted].filter((id) => !all.has(id))
      figures.lost += lost.length
      expect(lost).toEqual([])
      // Nothing beyond what was acknowledged: a refused batch left no call behind.
      figures.storedFromRefused += all.size - accepted.size
      expect(all.size).toBe(accepted.size)
    }
    try {
      expect((await send(10)).status).toBe(200)
      // Fill the disk but a little, then dispatch until the store cannot keep a batch.
      const filler = join(mountPoint, 'filler')
      const { bavail, bsize } = statfsSync(mountPoint)
      writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 256 * 1024)))
      let refusal: { status: number; retryAfter: string | null; body: any } | undefined
      for (let i = 0; i < 200 && refusal === undefined; i++) {
        const answer = await send(20)
        if (answer.status !== 200) refusal = answer
      }
      expect(refusal, 'the disk never filled').toBeDefined()
      // Not a bug but a store that cannot write now: 503 unavailable with Retry-After, not 500.
      expect(refusal!.status).toBe(503)
      expect(refusal!.retryAfter).toBe('1')
      expect(refusal!.body.code).toBe('unavailable')
      expect(refusal!.body.message).toMatch(
        /^DSP3007: the store is unavailable now \(SQLITE_FULL: .*\); nothing was acknowledged/,
      )
      await checkKept()
      expect((await send(20)).status).toBe(503)
      await checkKept()

      // Space returns: Dispatch works again.
      rmSync(filler)
      expect((await send(20)).status).toBe(200)
      await checkKept()

      // A read-only file system: Linux refuses to remount it while the database is open for
      // writing, so the scheduler is stopped first. It must refuse to start (accepting nothing), and
      // start again with every acknowledged call once the file system is writable.
      await t.scheduler.close()
      expect(mount('-o', 'remount,ro', mountPoint)).toBe(true)
      const refused = await startTestScheduler(join(mountPoint, 'dispatch.db')).then(
        async (s) => {
          await s.scheduler.close()
          return undefined
        },
        (error: unknown) => error as Error,
      )
      expect(refused, 'a scheduler started on a read-only file system').toBeInstanceOf(Error)
      figures.refused++
      expect(mount('-o', 'remount,rw', mountPoint)).toBe(true)
      t = await startTestScheduler(join(mountPoint, 'dispatch.db'))
      await checkKept()
      expect((await send(20)).status).toBe(200)
      await checkKept()
      figures.accepted += accepted.size
      expect(await storedNow()).toBe(accepted.size)
    } finally {
      mount('-o', 'remount,rw', mountPoint)
      await t.scheduler.close()
    }
  })
})
