import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The name of the package that holds the `dispatch` command, and so this file. */
const TOOLS_PACKAGE = 'dispatch-functions-tools'

/**
 * The packages a project made by `dispatch init` depends on, by role. `own` takes the range that
 * the tool package itself depends on (`^` its own version for the two packages of this project,
 * which move together); other values are ranges.
 */
export const PROJECT_PACKAGES = {
  dependencies: { 'dispatch-functions': 'own', fastify: 'own', typebox: 'own' },
  devDependencies: {
    'dispatch-functions-tools': 'own',
    '@types/node': '^20.19.0',
    tsx: '^4.23.0',
    typescript: '^7.0.2',
  },
} as const

/**
 * Packages whose install scripts a new project approves (npm 11 runs them only when package.json's
 * `allowScripts` says so): better-sqlite3 builds the embedded scheduler's SQLite, esbuild (under
 * tsx) checks its binary.
 */
export const PROJECT_ALLOW_SCRIPTS = { 'better-sqlite3': true, esbuild: true } as const

interface OwnPackage {
  name: string
  version: string
  dependencies?: Record<string, string>
}

/**
 * The tool package's package.json: beside dist/ when installed, under packages/ in a checkout of the
 * repository (where this file runs from the sources).
 */
function ownPackage(): OwnPackage {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    for (const candidate of [join(dir, 'package.json'), join(dir, 'packages', TOOLS_PACKAGE, 'package.json')]) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as OwnPackage
        if (pkg.name === TOOLS_PACKAGE) return pkg
      } catch {
        // No package.json there: look further.
      }
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`dispatch init: cannot find the package.json of ${TOOLS_PACKAGE}`)
    dir = parent
  }
}

/** `{ dependencies, devDependencies }` with their version ranges, for a new project's package.json. */
export function projectDependencies(): Record<keyof typeof PROJECT_PACKAGES, Record<string, string>> {
  const own = ownPackage()
  const range = (name: string, wanted: string): string => {
    if (wanted !== 'own') return wanted
    if (name === own.name || name === 'dispatch-functions') return `^${own.version}`
    const found = own.dependencies?.[name]
    if (found === undefined) throw new Error(`dispatch init: no version of ${name} in ${own.name}'s package.json`)
    return found
  }
  const pick = (packages: Record<string, string>) =>
    Object.fromEntries(Object.entries(packages).map(([name, wanted]) => [name, range(name, wanted)]))
  return {
    dependencies: pick(PROJECT_PACKAGES.dependencies),
    devDependencies: pick(PROJECT_PACKAGES.devDependencies),
  }
}
