import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../cli/runCli.js'
import { FUZZ_SEED, recordFigures, runs } from './fuzzConfig.js'

// The CLI under bad flags, paths and URLs: a usage error (exit code 2) that says what is wrong,
// never a stack. Spawning is slow, so a dozen generated cases in CI, more with FUZZ_RUNS.

// Commands and flags: a random word that is one of them would run it (`init` would scaffold the repository).
const KNOWN = new Set([
  'init',
  'gen',
  'run',
  'env',
  'scheduler',
  'calls',
  'app-port',
  'force',
  'parent',
  'help',
  'version',
  'cwd',
  'check',
  'watch',
  'db',
  'port',
  'host',
  'endpoint',
  'api-url',
  'api-key',
  'json',
  'state',
  'function',
  'fairness-key',
  'limit',
  'timeout',
  'postgres',
  'schema',
])
const word = fc.stringMatching(/^[a-z][a-z-]{1,12}$/).filter((w) => !KNOWN.has(w) && !w.endsWith('-'))
const notAPort = fc.oneof(
  fc.stringMatching(/^[a-z+.-][a-z0-9+.-]{0,6}$/),
  fc.integer({ min: 65_536, max: 10_000_000 }).map(String),
  fc.constantFrom('-1', '1.5', '0x10', '80 ', ''),
)
const notAUrl = fc.oneof(
  fc.stringMatching(/^[a-z]{1,10}$/),
  fc.constantFrom(
    'ftp://x',
    'http//x',
    '://',
    'mailto:a@b.c',
    'file:///tmp',
    'ws://127.0.0.1:1',
    'http://',
    'javascript:1',
  ),
)
const notADir = fc.oneof(
  fc.stringMatching(/^[a-z]{1,12}$/).map((name) => `/nonexistent-${name}/x`),
  fc.constantFrom('package.json', 'cli/main.ts'),
)

const notARetention = fc.oneof(
  fc.constantFrom('forever', '-1d', '7 days', '1e3s', '1d2h', 'offf', 'NaN', '', '9'.repeat(30)),
  word.filter((w) => w !== 'off'), // `off` is a valid retention: the scheduler would start
)

const cases: fc.Arbitrary<string[]> = fc.oneof(
  fc
    .tuple(fc.constantFrom([], ['gen'], ['scheduler'], ['calls', 'list']), word)
    .map(([command, flag]) => [...command, `--${flag}`]),
  notAPort.map((port) => ['scheduler', '--port', port]),
  notAPort.map((port) => ['run', '--port', port, '--', 'true']),
  notAPort.map((port) => ['run', '--app-port', port, '--', 'true']),
  notAUrl.map((url) => ['calls', 'get', 'some-id', '--api-url', url]),
  notAUrl.map((url) => ['run', '--endpoint', url, '--', 'true']),
  notADir.map((dir) => ['gen', '--cwd', dir]),
  notARetention.map((value) => ['scheduler', '--retention', value]),
  notARetention.map((value) => ['calls', 'purge', '--older-than', value]),
  word.map((command) => [command]),
)

const figures = { inputs: 0, wrongExits: 0, stacks: 0 }
afterAll(() =>
  recordFigures({
    suite: 'fuzz: CLI',
    'bad inputs tried': figures.inputs,
    'crashes or 5xx seen': figures.stacks,
    'exit codes other than 2': figures.wrongExits,
  }),
)

describe('fuzz: the CLI', () => {
  const sample = fc.sample(cases, { seed: FUZZ_SEED, numRuns: runs(12) })
  it('answers every bad invocation with a usage error, exit code 2', async () => {
    // Two at a time: the machine is shared.
    const queue = [...sample]
    const failures: string[] = []
    await Promise.all(
      [0, 1].map(async () => {
        for (let args = queue.shift(); args !== undefined; args = queue.shift()) {
          const result = await runCli(args, { DISPATCH_API_URL: '', DISPATCH_API_KEY: '' })
          figures.inputs++
          if (result.code !== 2) {
            figures.wrongExits++
            failures.push(`${JSON.stringify(args)} exited ${result.code}: ${result.stderr.slice(0, 300)}`)
          }
          if (/\n\s+at /.test(result.stderr)) {
            figures.stacks++
            failures.push(`${JSON.stringify(args)} printed a stack: ${result.stderr.slice(0, 300)}`)
          }
        }
      }),
    )
    expect(failures).toEqual([])
  })
})
