import { relative, resolve } from 'node:path'
import type { Command } from 'commander'
import { initProject } from '../init/initProject.js'

/** Registers `dispatch init [dir] [--force]`: a working project, without overwriting anything unless asked. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'scaffold a project: package.json settings and scripts, tsconfig, dispatch config, an example function and its server',
    )
    .argument('[dir]', 'the project folder (created if missing)', '.')
    .option('--force', 'overwrite files that exist (package.json and .gitignore are merged into, never replaced)')
    .action((dir: string, flags: { force?: boolean }) => {
      const root = resolve(dir)
      const steps = initProject(root, flags.force === true)
      const width = Math.max(...steps.map((step) => step.action.length))
      const lines = steps.map(
        (step) => `  ${step.action.padEnd(width)}  ${step.path}${step.detail ? ` (${step.detail})` : ''}`,
      )
      const skipped = steps.filter((step) => step.action === 'skipped').length
      const where = relative(process.cwd(), root)
      process.stdout.write(
        `dispatch init: ${root}\n${lines.join('\n')}\n` +
          (skipped > 0 ? `${skipped} existing file(s) left as they were; --force overwrites them\n` : '') +
          `next:\n${where === '' ? '' : `  cd ${where}\n`}  npm install\n  npm run dev      # the scheduler, your app and the generator, on changes too\n` +
          '  eval "$(npx dispatch env)" && npx tsx src/hello.ts   # from another terminal: one call\n',
      )
    })
}
