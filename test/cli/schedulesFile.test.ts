import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generatedSchedulesFile, readSchedulesFile } from '../../cli/schedulesFile.js'
import { runCli } from './runCli.js'

const dir = mkdtempSync(join(tmpdir(), 'dispatch-schedules-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// What the app started by `dispatch run` sees: the scheduler's schedules (ScheduleService List).
const listSchedules = `
fetch(process.env.DISPATCH_API_URL + '/dispatch.scheduler.v1.ScheduleService/List', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.DISPATCH_API_KEY },
  body: '{}',
}).then((r) => r.json()).then((body) => console.log(JSON.stringify({ endpoint: process.env.DISPATCH_ENDPOINT_URL, ...body })))`

describe('schedules files (dispatch run, dispatch scheduler --schedules)', () => {
  it('dispatch run finds the schedules.gen.json of the package and runs them on its app', async () => {
    const pkg = join(dir, 'pkg')
    mkdirSync(join(pkg, 'src/dispatch.gen'), { recursive: true })
    writeFileSync(join(pkg, 'package.json'), '{"name":"pkg","type":"module"}')
    expect(await generatedSchedulesFile(pkg)).toBeUndefined()
    const file = join(pkg, 'src/dispatch.gen/schedules.gen.json')
    writeFileSync(file, JSON.stringify({ schedules: [{ name: 'nightly', function: 'cleanup', cron: '0 3 * * *' }] }))
    expect(await generatedSchedulesFile(pkg)).toBe(file)

    const result = await runCli([
      'run',
      '--db',
      join(dir, 'run.db'),
      '--port',
      '0',
      '--schedules',
      file,
      '--',
      process.execPath,
      '-e',
      listSchedules,
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/dispatch: 1 schedule from .*schedules\.gen\.json/)
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!)
    expect(seen.schedules).toEqual([
      expect.objectContaining({ name: 'nightly', function: 'cleanup', endpoint: seen.endpoint, declared: true }),
    ])
  })

  it('refuses a file that cannot be read or is not { "schedules": [...] } (DSP4030)', () => {
    const bad = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    for (const [path, message] of [
      [join(dir, 'missing.json'), /cannot be read \(ENOENT\)/],
      [bad('text.json', 'nope'), /is not JSON/],
      [bad('shape.json', '{"schedule":[]}'), /has no "schedules" array/],
      [bad('entry.json', '{"schedules":[3]}'), /schedules\[0\] is not an object/],
    ] as const) {
      expect(() => readSchedulesFile(path, undefined)).toThrow(
        expect.objectContaining({ code: 'DSP4030', message: expect.stringMatching(message) }),
      )
    }
    const given = readSchedulesFile(
      bad(
        'ok.json',
        '{"schedules":[{"function":"f","cron":"@daily"},{"function":"g","cron":"@daily","endpoint":"http://a/"}]}',
      ),
      'http://app/',
    )
    expect(given.map((entry) => entry.endpoint)).toEqual(['http://app/', 'http://a/'])
  })
})
