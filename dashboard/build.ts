/**
 * Builds the dashboard into one folder (index.html, app.js, app.css): `tsx dashboard/build.ts OUT`.
 * The tool package's build writes it to its dist/ui, which the scheduler serves under /ui/. Nothing
 * is fetched at run time: Preact and htm are bundled, the page loads only its own files.
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = fileURLToPath(new URL('.', import.meta.url))

/** Writes the bundle to `out` and returns each file's size in bytes. */
export async function buildDashboard(out: string): Promise<Record<string, number>> {
  mkdirSync(out, { recursive: true })
  await build({
    entryPoints: [join(here, 'src/main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning',
  })
  copyFileSync(join(here, 'index.html'), join(out, 'index.html'))
  copyFileSync(join(here, 'app.css'), join(out, 'app.css'))
  return Object.fromEntries(['index.html', 'app.js', 'app.css'].map((f) => [f, statSync(join(out, f)).size]))
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2]
  if (out === undefined) {
    process.stderr.write('usage: tsx dashboard/build.ts OUT_DIR\n')
    process.exit(2)
  }
  const sizes = await buildDashboard(out)
  process.stdout.write(
    `dashboard: ${Object.entries(sizes)
      .map(([f, n]) => `${f} ${n} B`)
      .join(', ')}\n`,
  )
}
