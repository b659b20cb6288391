/**
 * `npm run demo:nextjs`: builds the Next.js example (`next build`) and runs it under `dispatch run`,
 * with a fresh database in a temporary folder and free ports.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runExample } from '../runExample.js'

execFileSync('npm', ['run', 'build', '--workspace', '@example/nextjs'], {
  cwd: fileURLToPath(new URL('../..', import.meta.url)),
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
})
process.exitCode = await runExample('examples/nextjs/src/main.ts')
