import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../codegen/helpers.js'

// The rule of the house, executable: dependencies point one way, `cli → codegen / scheduler →
// runtime → schemas`, and each npm package imports only what its package.json declares. The runtime
// package (runtime/, schemas/) is what applications install; the tool package (cli/, codegen/,
// scheduler/) reaches it by its package name only, as an installed copy would.

type Part = 'schemas' | 'runtime' | 'codegen' | 'scheduler' | 'testing' | 'cli'
const PARTS: readonly Part[] = ['schemas', 'runtime', 'codegen', 'scheduler', 'testing', 'cli']
const ALLOWED: Record<Part, readonly Part[]> = {
  schemas: [],
  runtime: ['schemas'],
  codegen: ['runtime', 'schemas'],
  scheduler: ['runtime', 'schemas'],
  testing: ['scheduler', 'runtime', 'schemas'],
  cli: ['codegen', 'scheduler', 'runtime', 'schemas'],
}
const RUNTIME_PACKAGE: readonly Part[] = ['schemas', 'runtime']

/** The part a package specifier of this repository's own packages resolves to. */
const OWN_PACKAGES: Record<string, Part> = {
  'dispatch-functions': 'runtime',
  'dispatch-functions/fastify': 'runtime',
  'dispatch-functions/fetch': 'runtime',
  'dispatch-functions/node': 'runtime',
  'dispatch-functions/internal': 'runtime',
  'dispatch-functions/protocol': 'schemas',
  'dispatch-functions-tools/scheduler': 'scheduler',
  'dispatch-functions-tools/codegen': 'codegen',
  'dispatch-functions-tools/testing': 'testing',
}

interface ImportEdge {
  readonly file: string
  readonly specifier: string
}

/** Every static and dynamic import specifier of a TypeScript source (comments and strings in code aside). */
function importsOf(text: string): string[] {
  const found: string[] = []
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?\sfrom\s+'([^']+)'/gm)) found.push(m[1]!)
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) found.push(m[1]!)
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push(m[1]!)
  return found
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const partOf = (file: string): Part | undefined => PARTS.find((part) => file.startsWith(`${part}/`))
const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!

/**
 * The violations of the rule among `edges` (files relative to the repository root): an import of a
 * part the importer may not depend on, a relative import across the two packages, or a package the
 * importer's package does not declare.
 */
function violations(
  edges: readonly ImportEdge[],
  declared: Record<'runtime' | 'tools', ReadonlySet<string>>,
): string[] {
  const found: string[] = []
  for (const { file, specifier } of edges) {
    const from = partOf(file)
    if (from === undefined) continue
    const inRuntimePackage = RUNTIME_PACKAGE.includes(from)
    let to: Part | undefined
    if (specifier.startsWith('.')) {
      to = partOf(relative(repoRoot, resolve(repoRoot, file, '..', specifier)).replace(/\\/g, '/'))
      if (to !== undefined && to !== from && RUNTIME_PACKAGE.includes(to) !== inRuntimePackage) {
        found.push(`${file}: imports ${specifier} by a relative path across packages; use its package name`)
      }
    } else if (specifier in OWN_PACKAGES) {
      to = OWN_PACKAGES[specifier]
    } else if (specifier.startsWith('node:') || builtinModules.includes(specifier)) {
      continue
    } else {
      const name = packageName(specifier)
      if (!declared[inRuntimePackage ? 'runtime' : 'tools'].has(name)) {
        found.push(`${file}: imports ${name}, which its package.json does not declare`)
      }
      continue
    }
    if (to !== undefined && to !== from && !ALLOWED[from].includes(to)) {
      found.push(
        `${file}: ${from} may not import ${to} (${specifier}): dependencies point cli → codegen / scheduler → runtime → schemas`,
      )
    }
  }
  return found
}

/** Entry files stand above the folder they sit in: they gather it, so they may import its subfolders. */
const ENTRY_FILES = new Set(['index.ts', 'main.ts', 'internal.ts'])

/** The unit of the folder graph a source file belongs to: its folder, or itself for an entry file. */
function unitOf(file: string): string {
  const slash = file.lastIndexOf('/')
  return ENTRY_FILES.has(file.slice(slash + 1)) ? file : file.slice(0, slash)
}

/**
 * The cycles of the graph whose nodes are folders (entry files apart), one line each with the imports
 * that close it: inside a part, folders must be layered so that each one only imports those below it.
 */
function folderCycles(edges: readonly ImportEdge[]): string[] {
  const graph = new Map<string, Map<string, string>>()
  for (const { file, specifier } of edges) {
    if (!specifier.startsWith('.')) continue
    const target = relative(repoRoot, resolve(repoRoot, file, '..', specifier)).replace(/\\/g, '/')
    const [from, to] = [unitOf(file), unitOf(target.replace(/\.js$/, '.ts'))]
    if (from === to || from.split('/')[0] !== to.split('/')[0]) continue
    if (!graph.has(from)) graph.set(from, new Map())
    if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${file} → ${specifier}`)
  }
  // Tarjan's strongly connected components: every component of more than one folder is a cycle.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const cycles: string[] = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!))
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    for (let top = stack.pop()!; ; top = stack.pop()!) {
      component.push(top)
      if (top === node) break
    }
    if (component.length < 2) return
    const members = new Set(component)
    const closing = component.flatMap((from) =>
      [...(graph.get(from) ?? [])].filter(([to]) => members.has(to)).map(([, edge]) => edge),
    )
    cycles.push(`${component.sort().join(' ↔ ')}: ${closing.sort().join('; ')}`)
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return cycles
}

function declaredBy(path: string): Set<string> {
  const pkg = JSON.parse(readFileSync(join(repoRoot, path), 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >
  return new Set([...Object.keys(pkg['dependencies'] ?? {}), ...Object.keys(pkg['peerDependencies'] ?? {})])
}

describe('the dependency rule', () => {
  const declared = {
    runtime: declaredBy('packages/dispatch-functions/package.json'),
    tools: declaredBy('packages/dispatch-functions-tools/package.json'),
  }

  const edges = PARTS.flatMap((part) =>
    sources(join(repoRoot, part)).flatMap((path) => {
      const file = relative(repoRoot, path).replace(/\\/g, '/')
      return importsOf(readFileSync(path, 'utf8')).map((specifier) => ({ file, specifier }))
    }),
  )

  it('holds for every source file of the five parts', () => {
    expect(edges.length).toBeGreaterThan(300)
    expect(violations(edges, declared)).toEqual([])
  })

  it('has no cycle between the folders of a part', () => {
    expect(folderCycles(edges)).toEqual([])
  })

  it('reports a cycle between folders, not a folder importing its own files or an entry file its subfolders', () => {
    const found = folderCycles([
      { file: 'runtime/a/x.ts', specifier: '../b/y.js' },
      { file: 'runtime/b/y.ts', specifier: '../c/z.js' },
      { file: 'runtime/c/z.ts', specifier: '../a/w.js' },
      { file: 'runtime/a/w.ts', specifier: './x.js' },
      { file: 'runtime/index.ts', specifier: './a/x.js' },
      { file: 'runtime/a/x.ts', specifier: '../route.js' },
    ])
    expect(found).toEqual([
      'runtime/a ↔ runtime/b ↔ runtime/c: runtime/a/x.ts → ../b/y.js; runtime/b/y.ts → ../c/z.js; runtime/c/z.ts → ../a/w.js',
    ])
  })

  it('reports an import against the direction, a relative import across packages and an undeclared package', () => {
    const found = violations(
      [
        { file: 'runtime/client/x.ts', specifier: '../../scheduler/index.js' },
        { file: 'schemas/x.ts', specifier: 'dispatch-functions' },
        { file: 'scheduler/x.ts', specifier: '../runtime/errors/dispatchError.js' },
        { file: 'scheduler/x.ts', specifier: 'dispatch-functions-tools/codegen' },
        { file: 'runtime/x.ts', specifier: 'pg' },
        { file: 'cli/x.ts', specifier: 'left-pad/index.js' },
        // Allowed: the direction of the rule, package names, builtins, declared packages.
        { file: 'cli/x.ts', specifier: '../scheduler/index.js' },
        { file: 'scheduler/x.ts', specifier: 'dispatch-functions/internal' },
        { file: 'runtime/x.ts', specifier: 'node:crypto' },
        { file: 'runtime/x.ts', specifier: 'typebox/compile' },
      ],
      declared,
    )
    expect(found).toEqual([
      expect.stringMatching(
        /^runtime\/client\/x\.ts: imports \.\.\/\.\.\/scheduler\/index\.js by a relative path across packages/,
      ),
      expect.stringMatching(/^runtime\/client\/x\.ts: runtime may not import scheduler/),
      expect.stringMatching(/^schemas\/x\.ts: schemas may not import runtime/),
      expect.stringMatching(
        /^scheduler\/x\.ts: imports \.\.\/runtime\/errors\/dispatchError\.js by a relative path across packages/,
      ),
      expect.stringMatching(/^scheduler\/x\.ts: scheduler may not import codegen/),
      expect.stringMatching(/^runtime\/x\.ts: imports pg, which its package\.json does not declare/),
      expect.stringMatching(/^cli\/x\.ts: imports left-pad, which its package\.json does not declare/),
    ])
  })
})
