import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot, runCli } from './runCli.js'

// Bad flags, paths and URLs are usage errors: a message that says what is wrong, exit code 2, no stack.
describe('dispatch: usage errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['bogus'], /unknown command 'bogus'/],
    ['run without a command', ['run'], /missing required argument 'command'/],
    ['a port that is not a number', ['run', '--port', 'abc', '--', 'true'], /"abc" is not a port/],
    ['a port out of range', ['scheduler', '--port', '70000'], /"70000" is not a port/],
    ['an endpoint that is not a URL', ['run', '--endpoint', 'nope', '--', 'true'], /"nope" is not a URL/],
    ['an API URL that is not http', ['calls', 'get', 'a', '--api-url', 'ftp://x'], /not an http\(s\) URL/],
    ['an unknown state', ['calls', 'list', '--state', 'bogus'], /Allowed choices are pending, running/],
    [
      'an endpoint allow-list pattern that is not an http(s) URL prefix',
      ['scheduler', '--allow-endpoint', 'https://ok.test/', '--allow-endpoint', 'ftp://x'],
      /DSP3021: the endpoint allow-list pattern "ftp:\/\/x" is not an http\(s\) URL/,
    ],
    [
      'a protobuf endpoint pattern that is not an http(s) URL prefix',
      ['scheduler', '--proto-endpoint', 'https://*.ok.test/x*'],
      /DSP3021: the protoEndpoints pattern "https:\/\/\*\.ok\.test\/x\*" has a '\*' elsewhere/,
    ],
    ['a list limit over one page', ['calls', 'list', '--limit', '1001'], /over 1000/],
    ['a timeout that is not a duration', ['calls', 'wait', 'x', '--timeout', 'soon'], /"soon" is not a duration/],
  ]
  it.concurrent.each(cases)('%s', async (_name, args, message) => {
    const result = await runCli(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it("prints the tool package's version, read from its package.json", async () => {
    const { version } = JSON.parse(
      readFileSync(join(repoRoot, 'packages/dispatch-functions-tools/package.json'), 'utf8'),
    )
    const result = await runCli(['--version'])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe(version)
  })

  it('prints help and exits 0', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/Usage: dispatch/)
  })

  it('names the missing variable when the scheduler cannot be found', async () => {
    const result = await runCli(['calls', 'get', 'abc'], { DISPATCH_API_URL: '', DISPATCH_API_KEY: '' })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/DSP2001: DISPATCH_API_URL is not set/)
    // The hint names the way out (the command), not an option of the client.
    expect(result.stderr).toMatch(
      /hint: run your program under npx dispatch run -- <command>, or .*eval "\$\(npx dispatch env\)"/,
    )
  })
})
