import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PROTO_GEN_DIR, renderProtoGen } from './protoGen.js'

// `npm run proto:gen`: writes schemas/proto/gen again from the .proto files (only files whose bytes
// change), and removes generated files whose .proto is gone.
const files = renderProtoGen()
mkdirSync(PROTO_GEN_DIR, { recursive: true })
let written = 0
for (const name of readdirSync(PROTO_GEN_DIR)) {
  if (!files.has(name)) {
    rmSync(join(PROTO_GEN_DIR, name))
    written++
  }
}
for (const [name, text] of files) {
  const path = join(PROTO_GEN_DIR, name)
  let before: string | undefined
  try {
    before = readFileSync(path, 'utf8')
  } catch {
    before = undefined
  }
  if (before !== text) {
    writeFileSync(path, text)
    written++
  }
}
process.stdout.write(`schemas/proto/gen: ${written === 0 ? 'up to date' : `${written} file(s) written`}\n`)
