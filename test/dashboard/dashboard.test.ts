import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDashboard } from '../../dashboard/build.js'
import { defineRoutes, PermanentError, tupleSchema } from '../../runtime/index.js'
import { coroutineRoutes } from '../runtime/helpers/coroutineRoutes.js'
import {
  eventually,
  removeFolder,
  startEndpoint,
  startTestScheduler,
  type TestScheduler,
  tempFolder,
  value,
} from '../scheduler/helpers.js'
import { chromiumAvailable, launchChromium } from './chromium.js'

// The dashboard in a real headless Chromium, against a real scheduler (SQLite) and endpoint with real
// calls: logging in (and a wrong key refused), the list's filters, a call's page with its attempts and
// coroutine tree, a cancel and a bulk redrive, each confirmed in a dialog first.
const routes = defineRoutes({
  ...coroutineRoutes,
  refuse: {
    input: tupleSchema([Type.String()]),
    output: undefined,
    handler: async () => {
      throw new PermanentError('no, never')
    },
    source: 'test:1',
  },
  echo: {
    input: tupleSchema([Type.String()]),
    output: Type.String(),
    handler: async (text: string) => `echo: ${text}`,
    source: 'test:2',
  },
})

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

describe.runIf(chromiumAvailable())('the dashboard in Chromium', () => {
  let dir: string
  let t: TestScheduler
  let endpointUrl: string
  let closeEndpoint: () => Promise<void>
  let browser: BrowserContext
  let page: Page
  let ui: string
  const ids: Record<string, string> = {}

  const dispatch = async (fn: string, args: unknown[], extra: Record<string, unknown> = {}) =>
    (await t.dispatch([{ endpoint: endpointUrl, function: fn, input: value(args), ...extra }]))[0] as string

  beforeAll(async () => {
    dir = await tempFolder('dispatch-dashboard-')
    const assetsDir = join(dir, 'ui')
    await buildDashboard(assetsDir)
    t = await startTestScheduler(join(dir, 'dispatch.db'), { dashboard: { assetsDir, loopbackOnly: true } })
    const endpoint = await startEndpoint(routes, t.scheduler.verificationKeyPem)
    endpointUrl = endpoint.url
    closeEndpoint = () => endpoint.app.close()
    ui = t.scheduler.dashboardUrl!

    ids['dag'] = await dispatch('dag', [3])
    ids['echo1'] = await dispatch('echo', ['one'], { traceparent: TRACEPARENT })
    ids['echo2'] = await dispatch('echo', ['two'], { idempotencyKey: 'order-42' })
    for (const n of [1, 2, 3]) ids[`refuse${n}`] = await dispatch('refuse', [`r${n}`])
    ids['held'] = await dispatch('echo', ['later'], { delay: '3600s' })
    for (const id of Object.values(ids)) if (id !== ids['held']) await t.settle(id)

    browser = await launchChromium()
    page = await browser.newPage()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await t?.scheduler.close()
    await closeEndpoint?.()
    await removeFolder(dir)
  })

  const rowIds = () => page.locator('table.calls tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset['id']))
  const filter = async (fields: Record<string, string>) => {
    await page.goto(`${ui}#/calls`)
    // The form is drawn anew for the unfiltered list: fill it only once it is (all fields empty).
    await page.waitForFunction(
      "[...document.querySelectorAll('form.filters input, form.filters select')].every((e) => e.value === '')",
    )
    for (const [name, text] of Object.entries(fields)) {
      if (name === 'state') await page.selectOption('select[name=state]', text)
      else await page.fill(`input[name=${name}]`, text)
    }
    await page.click('button:text("Filter")')
    await page.waitForURL(/#\/calls\?/)
  }

  it('refuses a wrong key, logs in with the right one into an http-only SameSite=Strict cookie, never shows the key', async () => {
    await page.goto(ui)
    await page.waitForURL(/#\/login$/)
    await page.fill('#apiKey', 'not-the-key')
    await page.click('button[type=submit]')
    await expect(page.locator('[role=alert]').textContent()).resolves.toMatch(/not this scheduler's API key/)
    expect(await browser.cookies()).toEqual([])

    await page.fill('#apiKey', t.scheduler.apiKey)
    await page.click('button[type=submit]')
    await page.waitForSelector('table.calls')
    const [cookie] = await browser.cookies()
    expect(cookie).toMatchObject({ name: 'dispatch_session', httpOnly: true, sameSite: 'Strict' })
    expect(cookie!.value).not.toContain(t.scheduler.apiKey)
    expect(await page.content()).not.toContain(t.scheduler.apiKey)
    expect(await page.evaluate('document.cookie')).toBe('')
  })

  it('filters the list by state, function, endpoint, id or idempotency key, and time', async () => {
    await filter({ state: 'failed' })
    await eventually(async () => ((await rowIds()).length === 3 ? true : undefined))
    expect((await rowIds()).sort()).toEqual([ids['refuse1'], ids['refuse2'], ids['refuse3']].sort())
    expect(page.url()).toContain('state=failed')

    await filter({ function: 'echo', state: 'succeeded' })
    await eventually(async () => ((await rowIds()).length === 2 ? true : undefined))
    expect((await rowIds()).sort()).toEqual([ids['echo1'], ids['echo2']].sort())

    await filter({ q: 'order-42' })
    await eventually(async () => ((await rowIds()).length === 1 ? true : undefined))
    expect(await rowIds()).toEqual([ids['echo2']])

    await filter({ endpoint: 'http://127.0.0.1:1/nowhere' })
    await page.waitForSelector('text=No calls match.')

    await filter({ from: '2000-01-01T00:00:00', to: '2000-01-02T00:00:00' })
    await page.waitForSelector('text=No calls match.')
  })

  it('keeps what is typed into the filter form when the list is drawn again (its refresh)', async () => {
    await page.goto(`${ui}#/calls`)
    await page.waitForSelector('table.calls tbody tr')
    await page.fill('input[name=function]', 'typed')
    await page.selectOption('select[name=state]', 'failed')
    // Turning live off and on draws the page again at once, as each refresh of the list does.
    await page.click('.toolbar input[type=checkbox]')
    await page.click('.toolbar input[type=checkbox]')
    await eventually(async () => ((await rowIds()).length > 0 ? true : undefined))
    expect(await page.inputValue('input[name=function]')).toBe('typed')
    expect(await page.inputValue('select[name=state]')).toBe('failed')
  })

  it("shows a call's input, output, attempts and trace id, and its coroutine tree with links", async () => {
    await page.goto(`${ui}#/call/${ids['echo1']}`)
    await page.waitForSelector('table.attempts')
    expect(await page.textContent('[data-testid=input]')).toContain('"one"')
    expect(await page.textContent('[data-testid=output]')).toContain('echo: one')
    expect(await page.textContent('[data-testid=trace-id]')).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    expect(await page.locator('table.attempts tbody tr').count()).toBe(1)
    expect(await page.textContent('table.attempts tbody tr')).toContain('STATUS_OK')

    await page.goto(`${ui}#/call/${ids['refuse1']}`)
    await page.waitForSelector('[data-testid=error]')
    expect(await page.textContent('[data-testid=error]')).toContain('PermanentError: no, never')

    // The coroutine: its turns are attempts, its children a tree whose links open them.
    await page.goto(`${ui}#/call/${ids['dag']}`)
    await page.waitForSelector('[data-testid=tree] ul a')
    expect(await page.locator('table.attempts tbody tr').count()).toBeGreaterThan(1)
    const children = page.locator('[data-testid=tree] ul a')
    expect(await children.count()).toBeGreaterThanOrEqual(4)
    expect(await page.textContent('[data-testid=tree]')).toContain('sumDoubles')
    const child = await children.first().textContent()
    await children.first().click()
    await page.waitForURL(new RegExp(`#/call/${child}$`))
    await page.waitForSelector(`dd a[href="#/call/${ids['dag']}"]`)
    expect(await page.textContent('[data-testid=tree] .current')).toContain(child!)
  })

  it('cancels a call only once the dialog is confirmed', async () => {
    await page.goto(`${ui}#/call/${ids['held']}`)
    await page.click('button:text("Cancel…")')
    await page.waitForSelector('[role=dialog]')
    await page.click('[role=dialog] button:text("Back")')
    expect(await page.locator('[role=dialog]').count()).toBe(0)
    expect((await t.calls.get(ids['held']!)).state).toBe('pending')

    await page.click('button:text("Cancel…")')
    expect(await page.textContent('[role=dialog]')).toContain(`Cancel call ${ids['held']}`)
    await page.click('[data-testid=confirm]')
    await page.waitForSelector('.badge.state-cancelled')
    expect((await t.calls.get(ids['held']!)).state).toBe('cancelled')
  })

  it('redrives every failed call of a function after confirming the count', async () => {
    await filter({ state: 'failed', function: 'refuse' })
    const refused = [ids['refuse1'], ids['refuse2'], ids['refuse3']].sort().join()
    await eventually(async () => ((await rowIds()).sort().join() === refused ? true : undefined))
    await page.click('button:text("Redrive matching…")')
    await page.waitForSelector('[role=dialog]')
    expect(await page.textContent('[role=dialog]')).toMatch(
      /Redrive 3 failed or cancelled calls matching state failed, function refuse\?/,
    )
    await page.click('[data-testid=confirm]')
    await page.waitForSelector('text=3 calls redriven.')
    // Each ran again (and failed again: the function always refuses).
    for (const n of [1, 2, 3]) {
      await eventually(async () => {
        const { attempts } = await t.calls.inspect(ids[`refuse${n}`]!)
        const call = await t.calls.get(ids[`refuse${n}`]!)
        return call.state === 'failed' && attempts.length === 2 ? true : undefined
      })
    }
  })

  it('refuses a change with the cookie but without the CSRF header, and after logging out', async () => {
    const status = await page.evaluate(async () => {
      const response = await fetch('/dispatch.scheduler.v1.CallService/RedriveMany', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ function: 'refuse' }),
      })
      return response.status
    })
    expect(status).toBe(403)
    await page.goto(`${ui}#/calls`)
    await page.click('button:text("Log out")')
    await page.waitForURL(/#\/login$/)
    expect(await browser.cookies()).toEqual([])
  })
})
