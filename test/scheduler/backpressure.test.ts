import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openSqliteStore, type Store } from '../../scheduler/index.js'
import { eventually, removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

const DISPATCH = '/dispatch.sdk.v1.DispatchService/Dispatch'
const later = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    endpoint: 'http://127.0.0.1:9',
    function: 'f',
    input: value([i]),
    delay: '3600s',
  }))

let folder: string | undefined
let t: TestScheduler | undefined
afterEach(async () => {
  await t?.scheduler.close()
  if (folder !== undefined) await removeFolder(folder)
  t = undefined
  folder = undefined
})

async function raw(path: string, body: unknown): Promise<Response> {
  return fetch(`${t!.scheduler.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t!.scheduler.apiKey}` },
    body: JSON.stringify(body),
  })
}

describe('back-pressure', () => {
  it('answers 429 with Retry-After while too many calls are unfinished, and accepts again when fewer are', async () => {
    folder = await tempFolder()
    t = await startTestScheduler(join(folder, 'dispatch.db'), {
      backPressure: { maxUnfinishedCalls: 100, retryAfterS: 2 },
    })
    const ids = await t.dispatch(later(100))
    const refused = await raw(DISPATCH, { calls: later(1) })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('2')
    const body = (await refused.json()) as { code: string; message: string }
    expect(body.code).toBe('resource_exhausted')
    expect(body.message).toMatch(/100 unfinished calls \(limit 100\)/)
    // Nothing of the refused request was stored.
    expect((await t.scheduler.stats()).reduce((n, c) => n + c.count, 0)).toBe(100)
    // The CallService still answers: only dispatches are refused.
    expect((await t.post('/dispatch.scheduler.v1.CallService/Cancel', { dispatchId: ids[0] })).status).toBe(200)
    expect((await raw(DISPATCH, { calls: later(1) })).status).toBe(200)
    expect((await t.scheduler.stats()).unfinished).toBe(100)
  })

  it('answers 429 while too many accepted calls wait for their commit, without buffering more', async () => {
    folder = await tempFolder()
    const dbPath = join(folder, 'dispatch.db')
    const sqlite = openSqliteStore(dbPath)
    let release: (() => void) | undefined
    let held = 0
    // A store that is behind: inserts wait until the test lets them through.
    const slow = new Proxy(sqlite, {
      get(target, name, receiver) {
        if (name === 'insertCalls') {
          return async (...args: Parameters<Store['insertCalls']>) => {
            held++
            await new Promise<void>((resolve) => {
              release = resolve
            })
            return target.insertCalls(...args)
          }
        }
        const member = Reflect.get(target, name, receiver)
        return typeof member === 'function' ? member.bind(target) : member
      },
    }) as Store
    t = await startTestScheduler(dbPath, { store: slow, backPressure: { maxQueuedCalls: 50 } })
    const first = raw(DISPATCH, { calls: later(50) })
    await eventually(() => (held === 1 ? true : undefined))
    const refused = await raw(DISPATCH, { calls: later(1) })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(((await refused.json()) as { message: string }).message).toMatch(/writing 50 accepted calls/)
    release!()
    expect((await first).status).toBe(200)
    const after = raw(DISPATCH, { calls: later(1) })
    await eventually(() => (held === 2 ? true : undefined))
    release!()
    expect((await after).status).toBe(200)
    await t.scheduler.close()
    t = undefined
    await sqlite.close()
  })

  it('can be turned off', async () => {
    folder = await tempFolder()
    t = await startTestScheduler(join(folder, 'dispatch.db'), { backPressure: false })
    await t.dispatch(later(10))
    expect((await t.scheduler.stats()).unfinished).toBeUndefined()
  })
})
