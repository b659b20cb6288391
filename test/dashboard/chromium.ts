import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'

/** Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it), or DISPATCH_TEST_CHROMIUM. */
export const CHROMIUM_PATH = process.env['DISPATCH_TEST_CHROMIUM'] || '/usr/bin/chromium'

/**
 * Whether the browser tests can run. In CI a missing Chromium fails the run with what to install; on a
 * developer's machine the tests are skipped with that message.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true
  const message = `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get update && apt-get install -y chromium) or set DISPATCH_TEST_CHROMIUM`
  if (process.env['CI']) throw new Error(`the dashboard's browser tests need Chromium: ${message}`)
  process.stderr.write(`dashboard browser tests skipped: ${message}\n`)
  return false
}

/** A headless Chromium with a fresh profile, nothing from the network but loopback. */
export async function launchChromium(): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'dispatch-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  // The profile goes with the browser.
  context.once('close', () => {
    rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(() => undefined)
  })
  return context
}
