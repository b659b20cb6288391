import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROTO_GEN_DIR, renderProtoGen } from './protoGen.js'

// The checked-in messages are what the pinned generator makes of the .proto files: a change to a
// .proto without `npm run proto:gen` (or a hand edit of a generated file) fails here.
describe('schemas/proto/gen', () => {
  it('is what `npm run proto:gen` writes from the .proto files', { timeout: 60_000 }, () => {
    const files = renderProtoGen()
    expect(readdirSync(PROTO_GEN_DIR).sort()).toEqual([...files.keys()].sort())
    for (const [name, text] of files) expect(readFileSync(join(PROTO_GEN_DIR, name), 'utf8'), name).toBe(text)
  })
})
