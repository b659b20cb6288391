import { describe, expect, it } from 'vitest'
import { runScript } from '../cli/runCli.js'
import { POSTGRES_TEST_URL } from './postgresTestUrl.js'

describe('examples/two-nodes', () => {
  it('runs: two dispatch scheduler --postgres nodes on one schema both deliver, every call succeeds', async () => {
    const { code, stdout, stderr } = await runScript('examples/two-nodes/main.ts', [], {
      DISPATCH_DATABASE_URL: POSTGRES_TEST_URL,
      CALLS: '200',
    })
    expect(code, stdout + stderr).toBe(0)
    expect(stdout).toMatch(/200 of 200 calls succeeded/)
    expect(stdout).toMatch(/node A: up to [1-9]\d* attempts in flight/)
    expect(stdout).toMatch(/node B: up to [1-9]\d* attempts in flight/)
    expect(stdout).toContain('both nodes delivered calls')
  })
})
