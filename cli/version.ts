import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE = 'dispatch-functions-tools'

/**
 * The version of the installed `dispatch-functions-tools` package, read from its package.json: the
 * nearest one above this file (the built package's dist/cli/), or the package folder of the
 * repository when the command runs from its sources.
 */
export function toolsVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    for (const candidate of [join(dir, 'package.json'), join(dir, 'packages', PACKAGE, 'package.json')]) {
      if (!existsSync(candidate)) continue
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === PACKAGE && typeof pkg.version === 'string') return pkg.version
    }
    if (dirname(dir) === dir) return 'unknown'
  }
}
