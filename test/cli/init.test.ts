import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { shellQuote } from '../../cli/commands/env.js'
import { eventually } from '../scheduler/helpers.js'
import { type CliResult, repoRoot } from './runCli.js'
import { startCli, tsxLoader } from './startCli.js'

// `dispatch init` scaffolds a project that works: generate, run under `dispatch run`, dispatch a call.
const root = mkdtempSync(join(tmpdir(), 'dispatch-init-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

async function dispatchIn(cwd: string, args: string[]): Promise<CliResult> {
  const cli = startCli(args, {}, cwd)
  const code = await cli.exited()
  return { code, stdout: cli.stdout(), stderr: cli.stderr() }
}

/** Every file under `dir` (node_modules and .dispatch left out) with its content. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === '.dispatch') continue
      const path = join(folder, entry.name)
      if (entry.isDirectory()) walk(path)
      else files[relative(dir, path)] = readFileSync(path, 'utf8')
    }
  }
  walk(dir)
  return files
}

/**
 * Installs the project's dependencies without a registry: `dispatch-functions` is this checkout's
 * sources (a package whose exports name them), the others are links to this checkout's node_modules.
 */
function linkDependencies(project: string): void {
  const modules = join(project, 'node_modules')
  const own = join(modules, 'dispatch-functions')
  mkdirSync(own, { recursive: true })
  writeFileSync(
    join(own, 'package.json'),
    JSON.stringify({
      name: 'dispatch-functions',
      type: 'module',
      exports: { '.': './runtime/index.ts', './fastify': './runtime/fastify/index.ts' },
    }),
  )
  for (const folder of ['runtime', 'schemas']) symlinkSync(join(repoRoot, folder), join(own, folder))
  for (const name of ['fastify', 'typebox', '@types'])
    symlinkSync(join(repoRoot, 'node_modules', name), join(modules, name))
}

function sh(script: string, cwd: string): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DISPATCH_')))
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('dispatch init', () => {
  it('scaffolds an empty folder, overwrites nothing when run again, and the project runs a call', async () => {
    const project = join(root, 'my-app')
    const first = await dispatchIn(root, ['init', 'my-app'])
    expect(first.code, first.stderr).toBe(0)
    for (const path of [
      'package.json',
      '.gitignore',
      'tsconfig.json',
      'dispatch.config.json',
      'src/schemas.ts',
      'src/functions/greet.ts',
      'src/server.ts',
    ]) {
      expect(first.stdout).toMatch(new RegExp(`created +${path.replace(/\./g, '\\.')}`))
    }
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'))
    expect(pkg).toMatchObject({ name: 'my-app', type: 'module' })
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(['dev', 'build', 'gen']))
    expect(pkg.scripts.dev).toMatch(/dispatch run --watch/)
    const own = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))
    expect(pkg.dependencies['dispatch-functions']).toBe(`^${own.version}`)
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['fastify', 'typebox']))
    expect(readFileSync(join(project, '.gitignore'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['.dispatch/', 'node_modules/', 'dist/']),
    )
    const tsconfig = JSON.parse(readFileSync(join(project, 'tsconfig.json'), 'utf8'))
    expect(tsconfig.compilerOptions).toMatchObject({ module: 'NodeNext', moduleResolution: 'NodeNext', strict: true })

    // Again, without --force: every file is left as it was, and it says so.
    writeFileSync(join(project, 'src/server.ts'), '// mine\n')
    const before = snapshot(project)
    const again = await dispatchIn(project, ['init'])
    expect(again.code, again.stderr).toBe(0)
    expect(snapshot(project)).toEqual(before)
    expect(again.stdout).toMatch(/skipped +src\/server\.ts \(exists; --force overwrites it\)/)
    expect(again.stdout).toMatch(/unchanged +package\.json/)
    const forced = await dispatchIn(project, ['init', '--force'])
    expect(forced.stdout).toMatch(/overwritten +src\/server\.ts/)
    expect(readFileSync(join(project, 'src/server.ts'), 'utf8')).toMatch(/dispatchPlugin/)

    // The scaffold works: generate, run under dispatch run (regenerating on change), dispatch a call.
    linkDependencies(project)
    const gen = await dispatchIn(project, ['gen'])
    expect(gen.code, gen.stderr).toBe(0)
    expect(gen.stdout).toMatch(/1 function/)
    // `npm run build` compiles it with the scaffold's tsconfig.
    const build = await sh(`${shellQuote(join(repoRoot, 'node_modules/.bin/tsc'))} -p .`, project)
    expect(build.code, build.stdout + build.stderr).toBe(0)
    expect(existsSync(join(project, 'dist/server.js'))).toBe(true)
    const app = startCli(
      ['run', '--port', '0', '--watch', '--', process.execPath, '--import', tsxLoader, 'src/server.ts'],
      {
        DISPATCH_API_KEY: '',
        DISPATCH_SIGNING_KEY: '',
      },
      project,
    )
    try {
      await app.waitForStderr(/eval "\$\(npx dispatch env\)"/)
      const cli = `${shellQuote(process.execPath)} --import ${shellQuote(tsxLoader)} ${shellQuote(join(repoRoot, 'cli/main.ts'))}`
      const hello = await sh(
        `eval "$(${cli} env)" && ${shellQuote(process.execPath)} --import ${shellQuote(tsxLoader)} src/hello.ts Ada`,
        project,
      )
      expect(hello.code, hello.stderr + app.stderr()).toBe(0)
      expect(hello.stdout).toBe('Hello, Ada!\n')

      writeFileSync(
        join(project, 'src/functions/farewell.ts'),
        `import type { Static } from 'typebox'\nimport type { Greeting, Name } from '../schemas.js'\n\n/** Says goodbye. */\nexport async function farewell(name: Static<typeof Name>): Promise<Static<typeof Greeting>> {\n  return { message: \`Bye, \${name}!\` }\n}\n`,
      )
      const routes = join(project, 'src/dispatch.gen/routes.gen.ts')
      await eventually(() => (readFileSync(routes, 'utf8').includes('farewell') ? true : undefined), 60_000)
    } finally {
      await app.stop()
    }
  }, 300_000)

  it('adds to an existing package.json without clobbering it, and refuses one that is not JSON', async () => {
    const project = join(root, 'existing')
    mkdirSync(project)
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'kept', description: 'mine', scripts: { build: 'make', test: 'vitest' } }),
    )
    writeFileSync(join(project, '.gitignore'), 'coverage\nnode_modules')
    const result = await dispatchIn(project, ['init'])
    expect(result.code, result.stderr).toBe(0)
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'))
    expect(pkg).toMatchObject({ name: 'kept', description: 'mine', type: 'module' })
    expect(pkg.scripts).toMatchObject({ build: 'make', test: 'vitest', gen: 'dispatch gen' })
    expect(result.stdout).toMatch(/updated +package\.json \(added "type": "module"; .*kept script build/)
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toBe('coverage\nnode_modules\n.dispatch/\ndist/\n')

    const broken = join(root, 'broken')
    mkdirSync(broken)
    writeFileSync(join(broken, 'package.json'), '{ nope')
    const refused = await dispatchIn(broken, ['init'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/DSP4025: package\.json in .*broken is not valid JSON/)
    expect(readdirSync(broken)).toEqual(['package.json'])
  }, 120_000)
})
