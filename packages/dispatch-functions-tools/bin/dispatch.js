#!/usr/bin/env node
// The `dispatch` command. An installed package runs the compiled CLI in dist/; a checkout without a
// build runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs'

const compiled = new URL('../dist/cli/main.js', import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('../../../cli/main.ts', import.meta.url).href)
}
