import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

// The test environment does not depend on vitest: the fan-out example's node:test file passes too.
it('works under node:test', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', 'examples/fanout/test/followUp.nodetest.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  expect(output).toMatch(/# pass 1/)
  expect(output).toMatch(/# fail 0/)
  expect(code).toBe(0)
})
