/**
 * The files `dispatch init` writes, besides package.json and .gitignore (which it merges into):
 * the compiler settings, the generator's config, one example function with its schemas, the
 * server that serves it and a script that dispatches to it.
 */
export const PROJECT_FILES: Readonly<Record<string, string>> = {
  'tsconfig.json': `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        outDir: 'dist',
        rootDir: 'src',
        types: ['node'],
      },
      include: ['src'],
    },
    null,
    2,
  )}\n`,

  'dispatch.config.json': `${JSON.stringify({ functions: ['src/functions/**/*.ts'], out: 'src/dispatch.gen' }, null, 2)}\n`,

  'src/schemas.ts': `import { Type } from 'typebox'

/** Whom to greet. */
export const Name = Type.String({ minLength: 1, maxLength: 100 })

/** What a greeting returns. */
export const Greeting = Type.Object({ message: Type.String() })
`,

  'src/functions/greet.ts': `import type { Static } from 'typebox'
import type { Greeting, Name } from '../schemas.js'

/** Greets someone: a dispatch function, since its parameter and result are typed by TypeBox schemas. */
export async function greet(name: Static<typeof Name>): Promise<Static<typeof Greeting>> {
  return { message: \`Hello, \${name}!\` }
}
`,

  'src/server.ts': `/**
 * The application: serves the dispatch functions on PORT. Run it under \`npx dispatch run\`, which
 * sets PORT, DISPATCH_ENDPOINT_URL and DISPATCH_VERIFICATION_KEY: only requests the scheduler signed
 * for this endpoint run, and without the key the plugin refuses to start (DSP2208).
 */
import { dispatchPlugin } from 'dispatch-functions/fastify'
import Fastify from 'fastify'
import { routes } from './dispatch.gen/routes.gen.js'

const app = Fastify({ logger: true })
await app.register(dispatchPlugin, { routes })
await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 8000) })
`,

  'src/hello.ts': `/**
 * Dispatches one call and prints its result. From another terminal, while \`npm run dev\` runs:
 *   eval "$(npx dispatch env)" && npx tsx src/hello.ts
 */
import { dispatchClient } from './dispatch.gen/client.gen.js'

const greeting = await dispatchClient.greet.call(process.argv[2] ?? 'world')
console.log(greeting.message)
`,
}

/** Scripts added to package.json (an existing script of the same name is kept unless --force). */
export const PROJECT_SCRIPTS: Readonly<Record<string, string>> = {
  dev: 'dispatch gen && dispatch run --watch -- tsx watch src/server.ts',
  gen: 'dispatch gen',
  build: 'dispatch gen && tsc',
  start: 'dispatch run -- node dist/server.js',
}

/** Lines .gitignore must have: the scheduler's folder holds its database and its signing key. */
export const GITIGNORE_LINES: readonly string[] = ['.dispatch/', 'node_modules/', 'dist/']
