import { describe, expect, it } from 'vitest'
import { runCli, runScript } from '../cli/runCli.js'

// The runnable example of docs/flow-control.md: every flow tag at work under `dispatch run`. The demo
// checks what each tag means (one run for a burst, one at a time per key, starts in waves of the
// rate, a priority overtaking a backlog, one call per tick) and prints `ok:` or `FAILED:` for each.
describe('examples/flow-control', () => {
  it('its generated files are up to date', async () => {
    const result = await runCli(['gen', '--cwd', 'examples/flow-control', '--check'])
    expect(result.code, result.stdout + result.stderr).toBe(0)
  })

  it('npm run demo:flow: every tag does what docs/flow-control.md says', async () => {
    const { code, stdout, stderr } = await runScript('examples/flow-control/demo.ts')
    const out = stdout + stderr
    expect(code, out).toBe(0)
    expect(out).not.toContain('FAILED')
    expect(out).toContain('dispatch: 1 schedule from examples/flow-control/src/dispatch.gen/schedules.gen.json')
    expect(out).toContain('ok: 20 dispatches got 1 dispatch id')
    expect(out).toContain('ok: 1 run, with edit 20 (keep=last)')
    expect(out).toContain('ok: acct_1: 3 runs, at most 1 at once')
    expect(out).toContain('ok: cust_7: 6 calls started in 3 waves of 2, 2, 2')
    expect(out).toContain('ok: cust_8: started in the first wave')
    expect(out).toMatch(/ok: urgent \(priority 60\) overtook [1-5] of the backlog/)
    expect(out).toMatch(/ok: \d+ ticks, one call each/)
  })
})
