import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources, not dist/: the same mapping as tsconfig.json's `paths`.
    alias: [
      { find: /^dispatch-functions$/, replacement: here('./runtime/index.ts') },
      { find: /^dispatch-functions\/fastify$/, replacement: here('./runtime/fastify/index.ts') },
      { find: /^dispatch-functions\/fetch$/, replacement: here('./runtime/fetch/index.ts') },
      { find: /^dispatch-functions\/node$/, replacement: here('./runtime/node/index.ts') },
      { find: /^dispatch-functions\/protocol$/, replacement: here('./schemas/index.ts') },
      { find: /^dispatch-functions\/internal$/, replacement: here('./runtime/internal.ts') },
      { find: /^dispatch-functions-tools\/codegen$/, replacement: here('./codegen/index.ts') },
      { find: /^dispatch-functions-tools\/scheduler$/, replacement: here('./scheduler/index.ts') },
      { find: /^dispatch-functions-tools\/testing$/, replacement: here('./testing/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Child processes run the CLI and apps under tsx: this tsconfig's paths send them to the sources
    // too, wherever their working folder is (not to the packages' built dist/).
    env: { TSX_TSCONFIG_PATH: here('./tsconfig.json') },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of a test file's time is spent waiting for child processes, servers, PostgreSQL and fsync,
    // not on this process's CPU: two files at once even on two cores (vitest's default is one fewer
    // than the cores, a single file there).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Compiles the CLI and the spawned test processes once per run (see test/compileScripts.ts).
    globalSetup: ['test/compileScripts.ts'],
  },
})
