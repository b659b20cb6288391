import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { dspError } from 'dispatch-functions/protocol'
import type { ScheduleOptions } from '../scheduler/index.js'

/** Where `dispatch gen` writes the schedules of the package at `cwd` (its `out` folder), if it did. */
export async function generatedSchedulesFile(cwd: string): Promise<string | undefined> {
  const { loadConfig } = await import('../codegen/index.js')
  let out: string
  try {
    out = loadConfig(cwd).config.out
  } catch {
    // Not a package `dispatch gen` can read: it wrote no schedules here.
    return undefined
  }
  const path = join(cwd, out, 'schedules.gen.json')
  return existsSync(path) ? path : undefined
}

/**
 * The schedules of a file as `dispatch gen` writes it (`{ "schedules": [...] }`, the entries of the
 * scheduler's `schedules` option); an entry without an endpoint gets `endpoint` (the app of
 * `dispatch run`). DSP4030 when the file cannot be read or is not of that shape; the entries
 * themselves are checked by the scheduler (DSP3060).
 */
export function readSchedulesFile(path: string, endpoint: string | undefined): ScheduleOptions[] {
  const where = relative(process.cwd(), path) || path
  const fail = (what: string): never => {
    throw dspError('DSP4030', `the schedules file ${where} ${what}`, {
      hint: 'run `npx dispatch gen` again (it writes schedules.gen.json), or fix the file: { "schedules": [{ "function": "f", "cron": "0 3 * * *", "endpoint": "http://..." }] }',
    })
  }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    return fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return fail('is not JSON')
  }
  const schedules = (parsed as { schedules?: unknown } | null)?.schedules
  if (!Array.isArray(schedules)) return fail('has no "schedules" array')
  return schedules.map((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return fail(`: schedules[${index}] is not an object`)
    const schedule = entry as ScheduleOptions
    if (schedule.endpoint !== undefined || endpoint === undefined) return schedule
    return { ...schedule, endpoint }
  })
}
