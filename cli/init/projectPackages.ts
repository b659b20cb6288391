import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The packages a project made by `dispatch init` depends on, by role. The one place to change when
 * the runtime and the tools become separate packages: `version` means this package's own version,
 * any other name takes the range this package itself depends on.
 */
export const PROJECT_PACKAGES = {
  dependencies: ['dispatch-functions', 'fastify', 'typebox'],
  devDependencies: ['@types/node', 'tsx', 'typescript'],
} as const

interface OwnPackage {
  name: string
  version: string
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

/** This package's package.json, found from this file in the sources and in dist/ alike. */
function ownPackage(): OwnPackage {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as OwnPackage
      if (pkg.name === 'dispatch-functions') return pkg
    } catch {
      // No package.json here: look in the folder above.
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('dispatch init: cannot find the package.json of dispatch-functions')
    dir = parent
  }
}

/** `{ dependencies, devDependencies }` with their version ranges, for a new project's package.json. */
export function projectDependencies(): Record<keyof typeof PROJECT_PACKAGES, Record<string, string>> {
  const own = ownPackage()
  const range = (name: string): string => {
    if (name === own.name) return `^${own.version}`
    const found = own.dependencies?.[name] ?? own.devDependencies?.[name]
    if (found === undefined) throw new Error(`dispatch init: no version of ${name} in ${own.name}'s package.json`)
    return found
  }
  const pick = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, range(name)]))
  return {
    dependencies: pick(PROJECT_PACKAGES.dependencies),
    devDependencies: pick(PROJECT_PACKAGES.devDependencies),
  }
}
