import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Where peers are installed on demand: not dependencies of the package, and ignored by git. */
export const PEERS = fileURLToPath(new URL('../.peers/', import.meta.url))

/**
 * Loads a peer (a system we compare against) from bench/.peers. When it is missing and `install`
 * is set, installs `spec` there first (`npm install --prefix bench/.peers <spec>`); otherwise logs
 * how to and returns undefined, so the benchmark skips that peer.
 */
export function loadPeer(name: string, spec: string, log: (line: string) => void, install: boolean): any | undefined {
  const require = createRequire(`${PEERS}package.json`)
  try {
    return require(name)
  } catch {}
  const command = `npm install --prefix bench/.peers ${spec}`
  if (!install) {
    log(`${name}: not installed (${command}); skipped`)
    return undefined
  }
  log(`${name}: installing (${command})`)
  mkdirSync(PEERS, { recursive: true })
  if (!existsSync(`${PEERS}package.json`)) writeFileSync(`${PEERS}package.json`, '{ "private": true }\n')
  try {
    execFileSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', spec], { stdio: 'ignore' })
    return require(name)
  } catch (error) {
    log(`${name}: could not be installed (${(error as Error).message}); skipped`)
    return undefined
  }
}
