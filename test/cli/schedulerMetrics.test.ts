import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startCli } from './startCli.js'

describe('dispatch scheduler --metrics-port', () => {
  const folders: string[] = []
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true })
  })

  it('prints the metrics URL and serves Prometheus metrics there without the API key', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'dispatch-cli-metrics-'))
    folders.push(folder)
    const cli = startCli(['scheduler', '--db', join(folder, 'dispatch.db'), '--port', '0', '--metrics-port', '0'], {
      DISPATCH_API_KEY: 'cli-metrics-key',
      DISPATCH_DATABASE_URL: '',
    })
    try {
      const [, url] = await cli.waitForStderr(/Prometheus metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/)
      const response = await fetch(url!)
      expect(response.status).toBe(200)
      const text = await response.text()
      expect(text).toContain('# TYPE dispatch_calls_accepted_total counter')
      expect(text).toContain('dispatch_attempts_in_flight 0')
    } finally {
      await cli.stop()
    }
  })

  it('--ui serves the dashboard on the API and prints its URL', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'dispatch-cli-ui-'))
    folders.push(folder)
    const cli = startCli(['scheduler', '--db', join(folder, 'dispatch.db'), '--port', '0', '--ui'], {
      DISPATCH_API_KEY: 'cli-ui-key',
      DISPATCH_DATABASE_URL: '',
    })
    try {
      const [, url] = await cli.waitForStderr(
        /dashboard on (http:\/\/127\.0\.0\.1:\d+\/ui\/) \(log in with the API key\)\n/,
      )
      const page = await fetch(url!)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<div id="app">')
    } finally {
      await cli.stop()
    }
  })
})
