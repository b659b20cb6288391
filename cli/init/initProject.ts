import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { dspError } from 'dispatch-functions/protocol'
import { GITIGNORE_LINES, PROJECT_FILES, PROJECT_SCRIPTS } from './projectFiles.js'
import { PROJECT_ALLOW_SCRIPTS, projectDependencies } from './projectPackages.js'

/** What `dispatch init` did to one file. */
export interface InitStep {
  readonly path: string
  readonly action: 'created' | 'overwritten' | 'updated' | 'skipped' | 'unchanged'
  /** What was added, or why it was skipped. */
  readonly detail?: string
}

/**
 * Scaffolds a project in `dir` (created if missing). A file that exists is skipped unless `force`;
 * package.json and .gitignore are merged into: what they lack is added, what they have is kept
 * (with `force`, package.json's `type` and same-named scripts are replaced).
 */
export function initProject(dir: string, force: boolean): InitStep[] {
  const stat = statSync(dir, { throwIfNoEntry: false })
  if (stat !== undefined && !stat.isDirectory()) {
    throw dspError('DSP4024', `${dir} is not a folder`, { hint: 'give the folder of the project' })
  }
  mkdirSync(dir, { recursive: true })
  const steps = [mergePackageJson(dir, force), mergeGitignore(dir)]
  for (const [path, content] of Object.entries(PROJECT_FILES)) {
    const file = join(dir, path)
    const exists = existsSync(file)
    if (exists && !force) {
      steps.push({ path, action: 'skipped', detail: 'exists; --force overwrites it' })
      continue
    }
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, content)
    steps.push({ path, action: exists ? 'overwritten' : 'created' })
  }
  return steps
}

function mergePackageJson(dir: string, force: boolean): InitStep {
  const file = join(dir, 'package.json')
  const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined
  let pkg: Record<string, unknown>
  if (text === undefined) {
    pkg = { name: packageName(dir), version: '0.1.0', private: true }
  } else {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      throw dspError('DSP4025', `package.json in ${dir} is not valid JSON: ${(cause as Error).message}`, {
        hint: 'fix it (or remove it), then run dispatch init again; nothing was written',
      })
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw dspError('DSP4025', `package.json in ${dir} is not a JSON object`, {
        hint: 'fix it (or remove it), then run dispatch init again; nothing was written',
      })
    }
    pkg = parsed as Record<string, unknown>
  }
  const added: string[] = []
  const kept: string[] = []
  if (pkg['type'] === undefined || (force && pkg['type'] !== 'module')) {
    pkg['type'] = 'module'
    added.push('"type": "module"')
  } else if (pkg['type'] !== 'module') {
    kept.push(`"type": ${JSON.stringify(pkg['type'])} (the project needs "module"; --force sets it)`)
  }
  const scripts = objectField(pkg, 'scripts', dir)
  const newScripts: string[] = []
  for (const [name, command] of Object.entries(PROJECT_SCRIPTS)) {
    if (scripts[name] === command) continue
    if (scripts[name] !== undefined && !force) {
      kept.push(`script ${name}`)
      continue
    }
    scripts[name] = command
    newScripts.push(name)
  }
  if (newScripts.length > 0) added.push(`scripts ${newScripts.join(', ')}`)
  const wanted = projectDependencies()
  for (const field of ['dependencies', 'devDependencies'] as const) {
    const present = objectField(pkg, field, dir)
    const missing = Object.keys(wanted[field]).filter(
      (name) => present[name] === undefined && (field === 'devDependencies' || !isDevDependency(pkg, name)),
    )
    for (const name of missing) present[name] = wanted[field][name]
    if (missing.length > 0) added.push(`${field} ${missing.join(', ')}`)
  }
  const allow = objectField(pkg, 'allowScripts', dir)
  const approved = Object.keys(PROJECT_ALLOW_SCRIPTS).filter((name) => allow[name] === undefined)
  for (const name of approved) allow[name] = true
  if (approved.length > 0) added.push(`allowScripts ${approved.join(', ')}`)
  const detail = [
    ...(added.length > 0 ? [`added ${added.join('; ')}`] : []),
    ...(kept.length > 0 ? [`kept ${kept.join(', ')}`] : []),
  ].join('; ')
  if (text !== undefined && added.length === 0) {
    return { path: 'package.json', action: 'unchanged', ...(detail ? { detail } : {}) }
  }
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
  return { path: 'package.json', action: text === undefined ? 'created' : 'updated', detail }
}

/** A package.json object field, created empty when absent; an existing non-object is refused. */
function objectField(pkg: Record<string, unknown>, name: string, dir: string): Record<string, unknown> {
  const value = pkg[name] ?? {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw dspError('DSP4025', `package.json in ${dir}: "${name}" is not an object`, {
      hint: 'fix it, then run dispatch init again; nothing was written',
    })
  }
  pkg[name] = value
  return value as Record<string, unknown>
}

function isDevDependency(pkg: Record<string, unknown>, name: string): boolean {
  const dev = pkg['devDependencies']
  return typeof dev === 'object' && dev !== null && name in dev
}

/** A valid npm package name from the folder's name. */
function packageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
  return name === '' ? 'dispatch-app' : name
}

function mergeGitignore(dir: string): InitStep {
  const file = join(dir, '.gitignore')
  const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined
  const present = new Set((text ?? '').split(/\r?\n/).map((line) => line.trim()))
  const missing = GITIGNORE_LINES.filter((line) => !present.has(line) && !present.has(line.replace(/\/$/, '')))
  if (missing.length === 0) return { path: '.gitignore', action: 'unchanged' }
  const prefix = text === undefined || text === '' || text.endsWith('\n') ? (text ?? '') : `${text}\n`
  writeFileSync(file, `${prefix}${missing.join('\n')}\n`)
  if (text === undefined) return { path: '.gitignore', action: 'created' }
  return { path: '.gitignore', action: 'updated', detail: `added ${missing.join(', ')}` }
}
