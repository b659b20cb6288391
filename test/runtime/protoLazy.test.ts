import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../codegen/helpers.js'

// An endpoint that is only sent JSON never loads @bufbuild/protobuf: the adapters reach the binary
// codec through a dynamic import only, which a bundler splits into a chunk of its own.

/** The protobuf packages and generated messages that `entry` loads statically (shared chunks included). */
async function protobufLoadedBy(entry: string): Promise<string[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'proto-lazy-'))
  try {
    const result = await build({
      entryPoints: [join(repoRoot, entry)],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      outdir,
      metafile: true,
      packages: 'external',
      logLevel: 'silent',
    })
    const outputs = result.metafile.outputs
    const entryFile = Object.keys(outputs).find((file) => outputs[file]!.entryPoint !== undefined)!
    const reached = new Set([entryFile])
    for (const file of reached) {
      for (const i of outputs[file]!.imports) if (i.kind === 'import-statement' && !i.external) reached.add(i.path)
    }
    return [...reached]
      .flatMap((file) => [
        ...outputs[file]!.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path),
        ...Object.keys(outputs[file]!.inputs),
      ])
      .filter((path) => path.includes('@bufbuild') || path.includes('schemas/proto/'))
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

describe('the binary codec of the endpoint', () => {
  it.each(['runtime/fastify/index.ts', 'runtime/fetch/index.ts', 'runtime/node/index.ts', 'runtime/index.ts'])(
    'is not in the static import graph of %s',
    { timeout: 60_000 },
    async (entry) => {
      expect(await protobufLoadedBy(entry)).toEqual([])
    },
  )

  it('is what the dynamically imported module loads (so the check above sees it)', { timeout: 60_000 }, async () => {
    expect((await protobufLoadedBy('runtime/endpoint/runProtoCodec.ts')).length).toBeGreaterThan(0)
  })
})
