import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { dspError } from 'dispatch-functions/protocol'

/** The generator's configuration: `dispatch.config.json`, or the `"dispatch"` key of package.json. */
export interface DispatchConfig {
  /** Globs, relative to the package root, of the files that declare dispatch functions. */
  readonly functions: readonly string[]
  /** The folder, relative to the package root, that receives client.gen.ts and routes.gen.ts. */
  readonly out: string
}

/** What a config with no fields means. */
export const DEFAULT_CONFIG: DispatchConfig = Object.freeze({
  functions: Object.freeze(['src/**/*.ts']),
  out: 'src/dispatch.gen',
})

/** A loaded config and the file it came from (relative to the package root), if any. */
export interface LoadedConfig {
  readonly config: DispatchConfig
  readonly source: 'dispatch.config.json' | 'package.json' | undefined
}

function readJson(file: string, name: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw dspError('DSP1002', `cannot read ${name}: ${(cause as Error).message}`, {
      hint: 'check the file permissions',
    })
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw dspError('DSP1002', `${name} is not valid JSON: ${(cause as Error).message}`, {
      hint: `fix the JSON syntax of ${name}`,
    })
  }
}

function invalid(where: string, field: string, what: string): never {
  throw dspError('DSP1001', `${where}: "${field}" ${what}`, {
    hint: `expected { "functions": ["src/**/*.ts"], "out": "src/dispatch.gen" } (both optional)`,
  })
}

/** Checks a raw config value and fills in the defaults; errors name the offending field. */
export function parseConfig(raw: unknown, where: string): DispatchConfig {
  if (raw === undefined) return DEFAULT_CONFIG
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid(where, '(root)', 'must be an object')
  const record = raw as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (key !== 'functions' && key !== 'out') invalid(where, key, 'is not a known field (known: functions, out)')
  }
  let functions = DEFAULT_CONFIG.functions
  if (record['functions'] !== undefined) {
    const value = record['functions']
    if (!Array.isArray(value) || value.length === 0) invalid(where, 'functions', 'must be a non-empty array of globs')
    value.forEach((glob, i) => {
      if (typeof glob !== 'string' || glob.trim() === '')
        invalid(where, `functions[${i}]`, 'must be a non-empty string')
      if (isAbsolute(glob)) invalid(where, `functions[${i}]`, 'must be relative to the package root')
    })
    functions = value as string[]
  }
  let out = DEFAULT_CONFIG.out
  if (record['out'] !== undefined) {
    const value = record['out']
    if (typeof value !== 'string' || value.trim() === '') invalid(where, 'out', 'must be a non-empty string')
    if (isAbsolute(value)) invalid(where, 'out', 'must be relative to the package root')
    out = value.replace(/\\/g, '/').replace(/\/+$/, '')
  }
  return { functions, out }
}

/**
 * Loads the config of the package at `cwd`: `dispatch.config.json` wins over package.json's
 * `"dispatch"` key; neither means the defaults.
 */
export function loadConfig(cwd: string): LoadedConfig {
  const own = readJson(join(cwd, 'dispatch.config.json'), 'dispatch.config.json')
  if (own !== undefined) return { config: parseConfig(own, 'dispatch.config.json'), source: 'dispatch.config.json' }
  const pkg = readJson(join(cwd, 'package.json'), 'package.json') as Record<string, unknown> | undefined
  if (pkg !== undefined && typeof pkg === 'object' && pkg !== null && pkg['dispatch'] !== undefined) {
    return { config: parseConfig(pkg['dispatch'], 'package.json "dispatch"'), source: 'package.json' }
  }
  return { config: DEFAULT_CONFIG, source: undefined }
}
