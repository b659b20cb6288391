import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../codegen/helpers.js'
import { renderErrorDocs } from './errorDocs.js'

// `npm run docs:errors`: writes the tables of docs/errors.md again from the error catalog.
const path = join(repoRoot, 'docs', 'errors.md')
const before = readFileSync(path, 'utf8')
const after = renderErrorDocs(before)
if (after !== before) writeFileSync(path, after)
process.stdout.write(after === before ? 'docs/errors.md: up to date\n' : 'docs/errors.md: tables written\n')
