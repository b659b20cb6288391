/**
 * The Next.js example, run under `dispatch run` (`npx dispatch run -- node src/main.ts` after
 * `next build`): start `next start` on PORT, dispatch one `greetAll` (a durable coroutine that calls
 * `greet` once per name, each served by the route handler), and wait for its result.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitForResult } from 'dispatch-functions'
import { dispatchClient } from './dispatch.gen/client.gen.js'

const folder = fileURLToPath(new URL('..', import.meta.url))
const next = spawn(process.execPath, [fileURLToPath(import.meta.resolve('next/dist/bin/next')), 'start', folder], {
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
try {
  // Ready once it says so on stdout.
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    next.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (/Ready in/.test(seen)) resolve()
    })
    next.once('exit', (code) => reject(new Error(`next start exited (${code}): ${seen}`)))
  })
  const names = ['Ada', 'Grace', 'Barbara']
  const id = await dispatchClient.greetAll(names)
  const greetings = (await waitForResult(id)) as string[]
  console.log(`nextjs: greetAll answered ${JSON.stringify(greetings)}`)
  const ok = Array.isArray(greetings) && greetings.every((greeting, i) => greeting.startsWith(`hello ${names[i]} `))
  process.exitCode = ok ? 0 : 1
} finally {
  next.kill('SIGTERM')
}
