import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { storeUnavailable } from '../../scheduler/api/storeUnavailable.js'
import { openSqliteStore, type Store } from '../../scheduler/index.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder, value } from './helpers.js'

const coded = (code: string, message = 'failed') => Object.assign(new Error(message), { code })

describe('storeUnavailable', () => {
  it('recognises a store that cannot write now: SQLite, the file system, PostgreSQL and its connection', () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'SQLITE_BUSY', 'ENOSPC', 'EROFS']) {
      expect(storeUnavailable(coded(code)), code).toMatch(new RegExp(`^${code}: failed`))
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '08006', '53100', '57P01', '57P03', '25006', '40001']) {
      expect(storeUnavailable(coded(code)), code).toBeDefined()
    }
    expect(storeUnavailable(new Error('Connection terminated unexpectedly'))).toBe('Connection terminated unexpectedly')
    // Wrapped one level deep, as a store or the group committer may rethrow it.
    expect(storeUnavailable(new Error('insert failed', { cause: coded('SQLITE_FULL') }))).toMatch(/^SQLITE_FULL/)
  })

  it('leaves everything else to the 500 path: bugs, constraint violations, a corrupt file', () => {
    for (const error of [
      new TypeError('x is undefined'),
      coded('SQLITE_CONSTRAINT_UNIQUE'),
      coded('SQLITE_CORRUPT'),
      coded('23505'),
      coded('42P01'),
      'not an error',
      undefined,
    ]) {
      expect(storeUnavailable(error)).toBeUndefined()
    }
  })
})

let folder: string | undefined
let t: TestScheduler | undefined
afterEach(async () => {
  await t?.scheduler.close()
  if (folder !== undefined) await removeFolder(folder)
  t = undefined
  folder = undefined
})

describe('the API when the store cannot write', () => {
  it('answers Dispatch with 503 unavailable and Retry-After, stores nothing, and accepts again after', async () => {
    folder = await tempFolder()
    const sqlite = openSqliteStore(join(folder, 'dispatch.db'))
    let full = true
    // A store on a full disk: inserts fail as SQLite does, until there is room again.
    const store = new Proxy(sqlite, {
      get(target, name, receiver) {
        if (name === 'insertCalls') {
          return (...args: Parameters<Store['insertCalls']>) =>
            full ? Promise.reject(coded('SQLITE_FULL', 'database or disk is full')) : target.insertCalls(...args)
        }
        const member = Reflect.get(target, name, receiver)
        return typeof member === 'function' ? member.bind(target) : member
      },
    }) as Store
    t = await startTestScheduler(join(folder, 'dispatch.db'), { store, backPressure: { retryAfterS: 3 } })
    const calls = [{ endpoint: 'http://127.0.0.1:9', function: 'f', input: value([1]), delay: '3600s' }]
    const post = () =>
      fetch(`${t!.scheduler.url}/dispatch.sdk.v1.DispatchService/Dispatch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t!.scheduler.apiKey}` },
        body: JSON.stringify({ calls }),
      })
    const refused = await post()
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('3')
    const body = (await refused.json()) as { code: string; message: string }
    expect(body.code).toBe('unavailable')
    expect(body.message).toMatch(
      /^DSP3007: the store is unavailable now \(SQLITE_FULL: database or disk is full\); nothing was acknowledged; send the request again after Retry-After/,
    )
    expect((await t.calls.list()).calls).toEqual([])
    full = false
    expect((await post()).status).toBe(200)
    expect((await t.calls.list()).calls).toHaveLength(1)
    await t.scheduler.close()
    t = undefined
    await sqlite.close()
  })
})
