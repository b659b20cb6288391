import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDashboard } from '../../dashboard/build.js'
import { buildApiServer } from '../../scheduler/api/apiServer.js'
import { CallEvents } from '../../scheduler/calls/callEvents.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { openSqliteStore, type SqliteStore } from '../../scheduler/store/sqliteStore.js'
import { removeFolder, startTestScheduler, type TestScheduler, tempFolder } from './helpers.js'

// Who may use the dashboard and its session cookie: the login (constant-time key check, http-only
// SameSite=Strict cookie without the key in it), the CSRF rules for changes made with the cookie, and
// loopback-only serving. Over real HTTP, and through Fastify's inject where a remote address is needed.

const LIST = '/dispatch.scheduler.v1.CallService/List'
const CANCEL_MANY = '/dispatch.scheduler.v1.CallService/CancelMany'

let dir: string
let assetsDir: string
let t: TestScheduler
let origin: string

beforeAll(async () => {
  dir = await tempFolder('dispatch-dashboard-access-')
  assetsDir = join(dir, 'ui')
  await buildDashboard(assetsDir)
  t = await startTestScheduler(join(dir, 'dispatch.db'), { dashboard: { assetsDir } })
  origin = t.scheduler.url
}, 60_000)

afterAll(async () => {
  await t.scheduler.close()
  await removeFolder(dir)
})

const request = (path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) =>
  fetch(`${origin}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  })

async function login(): Promise<string> {
  const response = await request('/ui/login', {
    method: 'POST',
    headers: { origin },
    body: { apiKey: t.scheduler.apiKey },
  })
  expect(response.status).toBe(204)
  const cookie = response.headers.get('set-cookie')!
  return cookie.split(';')[0]!
}

describe('the dashboard: pages and login', () => {
  it('serves its page to anyone, with a strict content security policy and no framing', async () => {
    const page = await request('/ui/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    expect(await page.text()).toContain('/ui/app.js')
    expect((await request('/ui/app.js')).headers.get('content-type')).toMatch(/^text\/javascript/)
    expect((await request('/ui', { headers: {} })).url).toBe(`${origin}/ui/`)
  })

  it('refuses a wrong key without a cookie, and a login from another origin', async () => {
    const wrong = await request('/ui/login', { method: 'POST', headers: { origin }, body: { apiKey: 'nope' } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('set-cookie')).toBeNull()
    const body = await wrong.text()
    expect(body).toContain('DSP3043')
    expect(body).not.toContain('nope')
    const notAString = await request('/ui/login', { method: 'POST', headers: { origin }, body: { apiKey: 42 } })
    expect(notAString.status).toBe(401)
    const elsewhere = await request('/ui/login', {
      method: 'POST',
      headers: { origin: 'http://evil.test' },
      body: { apiKey: t.scheduler.apiKey },
    })
    expect(elsewhere.status).toBe(403)
    expect(await elsewhere.text()).toContain('DSP3044')
    const noOrigin = await request('/ui/login', { method: 'POST', body: { apiKey: t.scheduler.apiKey } })
    expect(noOrigin.status).toBe(403)
  })

  it('sets an http-only SameSite=Strict session cookie that does not hold the key', async () => {
    const response = await request('/ui/login', {
      method: 'POST',
      headers: { origin },
      body: { apiKey: t.scheduler.apiKey },
    })
    const cookie = response.headers.get('set-cookie')!
    expect(cookie).toMatch(
      /^dispatch_session=[0-9]+\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    )
    expect(cookie).not.toContain(t.scheduler.apiKey)
  })
})

describe('the dashboard: the session cookie', () => {
  it('reads with the cookie alone, and the overview gives the metrics and counts', async () => {
    const cookie = await login()
    const overview = await request('/ui/api/overview', { headers: { cookie } })
    expect(overview.status).toBe(200)
    const body = (await overview.json()) as any
    expect(body.metricsOn).toBe(true)
    expect(body.metrics.map((m: { name: string }) => m.name)).toContain('dispatch_attempts_total')
    expect(body.stats).toMatchObject({ calls: [], endpoints: [] })
    expect((await request('/ui/api/overview')).status).toBe(401)
  })

  it('changes only with the CSRF header and the same origin', async () => {
    const cookie = await login()
    const body = { function: 'nothing-here' }
    const bare = await request(CANCEL_MANY, { method: 'POST', headers: { cookie, origin }, body })
    expect(bare.status).toBe(403)
    expect(await bare.text()).toContain('DSP3044')
    const foreign = await request(CANCEL_MANY, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.test', 'x-dispatch-csrf': '1' },
      body,
    })
    expect(foreign.status).toBe(403)
    const crossSite = await request(CANCEL_MANY, {
      method: 'POST',
      headers: { cookie, origin, 'x-dispatch-csrf': '1', 'sec-fetch-site': 'cross-site' },
      body,
    })
    expect(crossSite.status).toBe(403)
    const ok = await request(CANCEL_MANY, { method: 'POST', headers: { cookie, origin, 'x-dispatch-csrf': '1' }, body })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ matched: 0, changed: 0 })
    const list = await request(LIST, { method: 'POST', headers: { cookie, origin, 'x-dispatch-csrf': '1' }, body: {} })
    expect(list.status).toBe(200)
  })

  it('refuses a forged or expired cookie, and the bearer key still works without one', async () => {
    const cookie = await login()
    const [, value] = cookie.split('=')
    const [expires, mac] = value!.split('.')
    const headers = { origin, 'x-dispatch-csrf': '1' }
    const longer = `dispatch_session=${Number(expires) + 1000}.${mac}`
    expect((await request(LIST, { method: 'POST', headers: { ...headers, cookie: longer }, body: {} })).status).toBe(
      401,
    )
    const expired = `dispatch_session=1.${mac}`
    expect((await request(LIST, { method: 'POST', headers: { ...headers, cookie: expired }, body: {} })).status).toBe(
      401,
    )
    expect(
      (await request(LIST, { method: 'POST', headers: { ...headers, cookie: 'dispatch_session=x' }, body: {} })).status,
    ).toBe(401)
    expect((await t.post(LIST, {})).status).toBe(200)
  })

  it('logging out clears the cookie', async () => {
    const response = await request('/ui/logout', { method: 'POST' })
    expect(response.status).toBe(204)
    expect(response.headers.get('set-cookie')).toMatch(/^dispatch_session=; .*Max-Age=0/)
  })
})

describe('the dashboard: loopback only, not built, not on', () => {
  let store: SqliteStore
  let app: FastifyInstance
  beforeAll(async () => {
    store = await openSqliteStore(':memory:')
    app = buildApiServer({
      store,
      events: new CallEvents(),
      options: resolveSchedulerOptions({ dbPath: ':memory:' }),
      apiKey: 'the-key',
      onNewWork: () => {},
      dashboard: { loopbackOnly: true, assetsDir: join(dir, 'not-built') },
    })
  })
  afterAll(async () => {
    await app.close()
    await store.close()
  })

  it('refuses the dashboard to another address, and serves the API to it with the key', async () => {
    const remote = await app.inject({ method: 'GET', url: '/ui/', remoteAddress: '10.1.2.3' })
    expect(remote.statusCode).toBe(403)
    expect(remote.body).toContain('DSP3045')
    const withCookie = await app.inject({
      method: 'POST',
      url: LIST,
      remoteAddress: '192.0.2.1',
      headers: { cookie: 'dispatch_session=1.x' },
      payload: {},
    })
    expect(withCookie.statusCode).toBe(403)
    const withKey = await app.inject({
      method: 'POST',
      url: LIST,
      remoteAddress: '10.1.2.3',
      headers: { authorization: 'Bearer the-key' },
      payload: {},
    })
    expect(withKey.statusCode).toBe(200)
  })

  it('says how to build it when its files are missing', async () => {
    const page = await app.inject({ method: 'GET', url: '/ui/', remoteAddress: '127.0.0.1' })
    expect(page.statusCode).toBe(503)
    expect(page.body).toContain('npm run build')
  })

  it('is not served without the option', async () => {
    const off = buildApiServer({
      store,
      events: new CallEvents(),
      options: resolveSchedulerOptions({ dbPath: ':memory:' }),
      apiKey: 'the-key',
      onNewWork: () => {},
    })
    const page = await off.inject({ method: 'GET', url: '/ui/' })
    expect(page.statusCode).toBe(401)
    const withKey = await off.inject({ method: 'GET', url: '/ui/', headers: { authorization: 'Bearer the-key' } })
    expect(withKey.statusCode).toBe(404)
    await off.close()
  })
})
