import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { describe, expect, it } from 'vitest'

// The fetch adapter runs where there is no Node (Workers, Deno, Bun, edge runtimes): its module graph
// may reach no `node:` module but node:async_hooks (currentCall()'s AsyncLocalStorage, which those
// runtimes provide; see docs/endpoint.md). Built here as a bundler would for a browser-like target
// (esbuild, platform "neutral"), any other `node:` import fails the build.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const runtimePackage = JSON.parse(readFileSync(`${repoRoot}packages/dispatch-functions/package.json`, 'utf8')) as {
  sideEffects?: boolean
}

// The package's own names, resolved to the sources; modules of the runtime package carry its
// `sideEffects` declaration, as a bundler reads it from the installed package.json.
const sources: Plugin = {
  name: 'dispatch-functions-sources',
  setup(build) {
    build.onResolve({ filter: /^dispatch-functions(\/(fetch))?$/ }, (args) => ({
      path: `${repoRoot}runtime/${args.path === 'dispatch-functions' ? 'index' : 'fetch/index'}.ts`,
      sideEffects: runtimePackage.sideEffects !== false,
    }))
    build.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'resolving') return undefined
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: 'resolving',
      })
      const ours = resolved.path.startsWith(`${repoRoot}runtime/`) || resolved.path.startsWith(`${repoRoot}schemas/`)
      return ours ? { path: resolved.path, sideEffects: runtimePackage.sideEffects !== false } : resolved
    })
  },
}

/** The `node:` modules a bundle of `contents` imports; `external` lists those the build may leave unresolved. */
async function nodeImportsOf(contents: string, external: string[]): Promise<string[]> {
  const result = await build({
    stdin: { contents, resolveDir: repoRoot, loader: 'ts', sourcefile: 'worker.ts' },
    bundle: true,
    write: false,
    platform: 'neutral',
    format: 'esm',
    mainFields: ['module', 'main'],
    external,
    plugins: [sources],
    logLevel: 'silent',
  })
  const text = result.outputFiles[0]!.text
  // Node's globals, read only through `globalThis` where the code falls back without them.
  // Comments and string literals aside (a library's doc comment, the error catalog's texts mention
  // "process"): only code counts.
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/\/\/[^\n]*/g, '')
    // @bufbuild/protobuf (the binary codec, loaded at the first binary request) reads one variable
    // behind typeof guards, so it runs where there is no `process` at all.
    .replace(/typeof process != "" \|\| typeof process\.env != "" \|\| process\.env\.BUF_BIGINT_DISABLE/g, '')
  expect(code.match(/(?<![.\w])(?:Buffer|process|setImmediate)\b(?!\s*:)/g)).toBeNull()
  return [...new Set([...text.matchAll(/(?:from|import)\s*["'](node:[^"']+)["']/g)].map((m) => m[1]!))]
}

describe('the fetch entry point', () => {
  it('reaches no node: module but node:async_hooks, and no Node global but through globalThis', async () => {
    // Any other node: module reached fails the build (a neutral build knows no Node built-ins).
    const imports = await nodeImportsOf("export { createFetchHandler } from 'dispatch-functions/fetch'", [
      'node:async_hooks',
    ])
    expect(imports).toEqual(['node:async_hooks'])
  }, 30_000)

  it('with the route table and currentCall() of the main entry, as a Worker imports them, still reaches only node:async_hooks', async () => {
    const imports = await nodeImportsOf(
      `
      import { createFetchHandler } from 'dispatch-functions/fetch'
      import { currentCall, defineRoutes, tupleSchema } from 'dispatch-functions'
      const routes = defineRoutes({
        id: { input: tupleSchema([]), output: undefined, handler: () => currentCall().dispatchId, source: 'worker.ts:1' },
      })
      export default { fetch: createFetchHandler({ routes }) }
    `,
      // The main entry also exports Node's key helpers (generateSigningKeyPair, parsePublicKey): resolved,
      // then dropped as unused because the package declares no side effects.
      ['node:*'],
    )
    expect(imports).toEqual(['node:async_hooks'])
  }, 30_000)
})
