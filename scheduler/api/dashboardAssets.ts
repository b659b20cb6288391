import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** One file of the dashboard's bundle, read once at start-up. */
export interface DashboardAsset {
  readonly body: Buffer
  readonly contentType: string
}

/** The files the dashboard's build writes (`npm run build`: the tool package's dist/ui). */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
}

/**
 * Where the built dashboard is: beside the compiled scheduler in the tool package (dist/ui), or, run
 * from the repository's sources, in that package's dist. Undefined when it was never built.
 */
export function findDashboardAssets(): string | undefined {
  const candidates = [
    new URL('../../ui/', import.meta.url),
    new URL('../../packages/dispatch-functions-tools/dist/ui/', import.meta.url),
  ].map((url) => fileURLToPath(url))
  return candidates.find((dir) => existsSync(`${dir}/index.html`))
}

/** The bundle's files by name (`app.js`), or undefined when `dir` holds no build. */
export function loadDashboardAssets(dir: string | undefined): Map<string, DashboardAsset> | undefined {
  if (dir === undefined || !existsSync(`${dir}/index.html`)) return undefined
  const assets = new Map<string, DashboardAsset>()
  for (const [name, contentType] of Object.entries(FILES)) {
    if (existsSync(`${dir}/${name}`)) assets.set(name, { body: readFileSync(`${dir}/${name}`), contentType })
  }
  return assets
}
