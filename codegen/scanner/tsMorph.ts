import { createRequire } from 'node:module'

/**
 * The TypeScript compiler API that ts-morph bundles, loaded with `require`: importing the
 * CommonJS bundle from ESM makes Node scan it (~10 MB) for export names first, ~140 ms per start.
 * The scanner uses the parser only — no Program, no type checker — and walks the raw syntax
 * tree: ts-morph's node wrappers cost more than the parse itself on a thousand files.
 */
export const ts: typeof import('ts-morph').ts = (
  createRequire(import.meta.url)('ts-morph') as typeof import('ts-morph')
).ts
