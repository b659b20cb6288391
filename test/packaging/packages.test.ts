import { type ChildProcess, spawn } from 'node:child_process'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../codegen/helpers.js'

// The two npm packages as a user gets them: packed into tarballs, installed in fresh folders outside
// the repository (no workspace links, no tsconfig paths), then used the way the README says — a new
// project made by `dispatch init`, served under `dispatch run`, reached by a script through
// `dispatch env`, and a client-only service built with tsc and run with plain node.
// One install of the tool package serves every step. Its native module (better-sqlite3) comes as a
// prebuilt binary, as a user gets it: here the one `npm ci` built for the repository, handed to
// prebuild-install as a local prebuild (nothing is downloaded; without it, minutes of compiling).
// Independent steps (the two installs, the client's compile, the testing entry) run side by side.

const INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']
const HEAVY = ['better-sqlite3', 'pg', 'ts-morph', 'fastify', 'commander', 'undici']

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...installedEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function ok(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = await run(command, args, cwd, env)
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    )
  }
  return result
}

/** The environment without the test run's tsconfig for tsx: installed packages must resolve as installed. */
function installedEnv(): NodeJS.ProcessEnv {
  const { TSX_TSCONFIG_PATH: _, ...env } = process.env
  return env
}

/** Bytes of every file below `dir` (symbolic links counted as links). */
function installedBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? installedBytes(path) : lstatSync(path).size
  }
  return total
}

/** The variables `dispatch env` exports, parsed from its `export NAME='value'` lines. */
function parseExports(text: string): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line)
    if (m) vars[m[1]!] = m[2]!.replace(/^'|'$/g, '').replace(/'\\''/g, "'")
  }
  return vars
}

/**
 * Packs the repository's own better-sqlite3 binary the way prebuild-install names a release asset,
 * in `dir`; the variables that make an install use it. None when that binary is not there (or is for
 * another version than the one npm picks): the install then builds it from source, slower but the same.
 */
function localPrebuild(dir: string): Promise<NodeJS.ProcessEnv> {
  const pkg = join(repoRoot, 'node_modules/better-sqlite3')
  const binary = 'build/Release/better_sqlite3.node'
  if (!existsSync(join(pkg, binary))) return Promise.resolve({})
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }
  const asset = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  mkdirSync(dir, { recursive: true })
  return ok('tar', ['-czf', join(dir, asset), '-C', pkg, binary], dir).then(() => ({
    npm_config_better_sqlite3_local_prebuilds: dir,
  }))
}

let work: string
let runtimeTarball: string
let toolsTarball: string
// Started in beforeAll, awaited by the tests that use them (and by afterAll, before the folder goes).
let clientInstalled: Promise<string>
let appInstalled: Promise<string>
let clientTyped: Promise<unknown> | undefined
const pending = () => Promise.allSettled([clientInstalled, appInstalled, clientTyped])

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dispatch-packages-'))
  // dist/ is built by `npm ci` (prepare); packing without scripts leaves it alone while other test
  // files read it.
  const packed = await ok(
    'npm',
    [
      'pack',
      '--ignore-scripts',
      '--json',
      '--workspace',
      'dispatch-functions',
      '--workspace',
      'dispatch-functions-tools',
      '--pack-destination',
      work,
    ],
    repoRoot,
  )
  const files = (JSON.parse(packed.stdout) as { name: string; filename: string }[]).map((p) => [p.name, p.filename])
  runtimeTarball = join(work, files.find(([name]) => name === 'dispatch-functions')![1]!)
  toolsTarball = join(work, files.find(([name]) => name === 'dispatch-functions-tools')![1]!)

  // A client-only service: the runtime alone.
  const client = join(work, 'client')
  mkdirSync(client)
  writeFileSync(
    join(client, 'package.json'),
    JSON.stringify({
      name: 'client',
      private: true,
      type: 'module',
      dependencies: { 'dispatch-functions': `file:${runtimeTarball}` },
    }),
  )
  clientInstalled = ok('npm', INSTALL, client).then(() => client)

  // An application with both packages. They come from the tarballs, never from the registry
  // (overrides reach nested ranges too).
  const app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      dependencies: { 'dispatch-functions': `file:${runtimeTarball}` },
      devDependencies: { 'dispatch-functions-tools': `file:${toolsTarball}` },
      overrides: { 'dispatch-functions': `file:${runtimeTarball}` },
      allowScripts: { 'better-sqlite3': true, esbuild: true },
    }),
  )
  appInstalled = localPrebuild(join(work, 'prebuilds')).then((prebuilt) =>
    ok('npm', INSTALL, app, prebuilt).then(() => app),
  )
  // Failures are reported by the tests that await these.
  clientInstalled.catch(() => {})
  appInstalled.catch(() => {})
}, 120_000)

afterAll(async () => {
  await pending()
  if (work) rmSync(work, { recursive: true, force: true })
}, 900_000)

describe('the packages, packed and installed from their tarballs', () => {
  it('move together: one version for the repository, both packages and the dispatch command', () => {
    const read = (path: string) => JSON.parse(readFileSync(join(repoRoot, path), 'utf8'))
    const root = read('package.json')
    const runtime = read('packages/dispatch-functions/package.json')
    const tools = read('packages/dispatch-functions-tools/package.json')
    expect(runtime.version).toBe(root.version)
    expect(tools.version).toBe(root.version)
    // A peer: an application and its tools share one copy of the runtime (one clock, one call context).
    expect(tools.peerDependencies['dispatch-functions']).toBe(root.version)
    // The command reads its version from the tool package's package.json (test/cli/usage.test.ts runs it).
    expect(readFileSync(join(repoRoot, 'cli/main.ts'), 'utf8')).toContain('.version(toolsVersion())')
  })

  it('the runtime holds no test file and needs no native module, parser or driver: a client-only install stays small', async () => {
    const listing = await ok('tar', ['-tzf', runtimeTarball], work)
    const paths = listing.stdout.trim().split('\n')
    expect(paths).toContain('package/LICENSE')
    expect(paths).toContain('package/dist/runtime/index.js')
    expect(paths).toContain('package/dist/runtime/index.d.ts')
    expect(paths.filter((p) => /\.test\.|\/test\/|\.map$|\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([])

    const client = await clientInstalled
    const installed = readdirSync(join(client, 'node_modules'))
    for (const heavy of HEAVY) expect(installed).not.toContain(heavy)
    // The runtime with everything it installs (typebox, ajv, ...): at most 15 MB.
    expect(installedBytes(join(client, 'node_modules'))).toBeLessThan(15 * 1024 * 1024)
    // Measured: now the client gets the Node.js types its tsc build needs (used by the next test).
    clientTyped = ok('npm', [...INSTALL, '--save-dev', '@types/node@^20'], client)
    clientTyped.catch(() => {})
  }, 300_000)

  it('dispatch init, gen and run make a working project; a script and a client-only service built with tsc dispatch into it', async () => {
    const app = await appInstalled
    const dispatch = join(app, 'node_modules/.bin/dispatch')

    const init = await ok(dispatch, ['init'], app)
    expect(init.stdout).toMatch(/created.*src\/server\.ts/)
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))
    expect(pkg.type).toBe('module')
    expect(pkg.dependencies['dispatch-functions']).toBe(`file:${runtimeTarball}`)
    expect(readFileSync(join(app, '.gitignore'), 'utf8')).toContain('.dispatch/')
    await ok('npm', INSTALL, app) // what init added: fastify, typebox, tsx, typescript, @types/node

    // The production path of the scaffold: generated, compiled with tsc, run with plain node.
    await ok('npm', ['run', 'build'], app)

    // A service that depends on the runtime alone, compiled with tsc (from here on, beside the rest).
    const client = join(work, 'client')
    const clientCompiled = (clientTyped ?? ok('npm', [...INSTALL, '--save-dev', '@types/node@^20'], client)).then(
      () => {
        mkdirSync(join(client, 'src'), { recursive: true })
        writeFileSync(
          join(client, 'src/main.ts'),
          [
            "import { createClient } from 'dispatch-functions'",
            '',
            'const app = createClient<{ greet: { args: [name: string]; output: { message: string } } }>({ greet: 1 })',
            "const greeting = await app.greet.call(process.argv[2] ?? 'nobody')",
            'console.log(greeting.message)',
            '',
          ].join('\n'),
        )
        writeFileSync(
          join(client, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'ES2022',
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              strict: true,
              rootDir: 'src',
              outDir: 'dist',
              types: ['node'],
              skipLibCheck: true,
            },
            include: ['src'],
          }),
        )
        return ok(join(app, 'node_modules/.bin/tsc'), ['-p', join(client, 'tsconfig.json')], client)
      },
    )
    clientCompiled.catch(() => {})

    // The installed testing entry, with plain node on the built code: the greeting, in the test's own process.
    writeFileSync(
      join(app, 'testEnvironment.mjs'),
      [
        "import { createTestEnvironment } from 'dispatch-functions-tools/testing'",
        "import { dispatchClient } from './dist/dispatch.gen/client.gen.js'",
        "import { routes } from './dist/dispatch.gen/routes.gen.js'",
        'const env = await createTestEnvironment({ routes })',
        "const call = await env.waitFor(await dispatchClient.greet('Lin'))",
        'console.log(call.state, call.output.message)',
        'await env.close()',
        '',
      ].join('\n'),
    )
    const tested = ok(process.execPath, ['testEnvironment.mjs'], app)
    tested.catch(() => {})
    const server: ChildProcess = spawn(dispatch, ['run', '--port', '0', '--', 'node', 'dist/server.js'], {
      cwd: app,
      env: installedEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let serverOutput = ''
    server.stdout?.on('data', (chunk: Buffer) => {
      serverOutput += chunk.toString()
    })
    server.stderr?.on('data', (chunk: Buffer) => {
      serverOutput += chunk.toString()
    })
    try {
      expect((await tested).stdout.trim()).toBe('succeeded Hello, Lin!')

      // `dispatch env` answers once `dispatch run` has started its scheduler.
      const deadline = Date.now() + 120_000
      let env: Ran
      for (;;) {
        env = await run(dispatch, ['env'], app)
        if (env.code === 0) break
        if (Date.now() > deadline || server.exitCode !== null)
          throw new Error(`dispatch run did not start:\n${serverOutput}`)
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      const vars = parseExports(env.stdout)
      expect(Object.keys(vars).sort()).toEqual(['DISPATCH_API_KEY', 'DISPATCH_API_URL', 'DISPATCH_ENDPOINT_URL'])
      expect(serverOutput).not.toContain(vars['DISPATCH_API_KEY'])

      // The dashboard ships in the tool package and is served from it: nothing comes from elsewhere.
      expect(serverOutput).toContain(`dashboard on ${vars['DISPATCH_API_URL']}/ui/`)
      const page = await fetch(`${vars['DISPATCH_API_URL']}/ui/`)
      expect(page.status).toBe(200)
      expect(await page.text()).not.toMatch(/(src|href)="https?:/)
      expect((await fetch(`${vars['DISPATCH_API_URL']}/ui/app.js`)).status).toBe(200)

      // A script in another process, as the README shows it.
      const hello = await ok('sh', ['-c', 'eval "$(npx dispatch env)" && npx tsx src/hello.ts Ada'], app)
      expect(hello.stdout).toContain('Hello, Ada!')

      // The client-only service, run with plain node.
      await clientCompiled
      const served = await ok(process.execPath, ['dist/main.js', 'Grace'], client, vars)
      expect(served.stdout.trim()).toBe('Hello, Grace!')
    } finally {
      await Promise.allSettled([tested, clientCompiled])
      server.kill('SIGTERM')
      await new Promise((resolve) => (server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve)))
    }
  }, 900_000)
})
