/**
 * `npm run demo:hono`: runs the Hono example (src/main.ts) under `dispatch run`, with a fresh
 * database in a temporary folder and free ports.
 */
import { runExample } from '../runExample.js'

process.exitCode = await runExample('examples/hono/src/main.ts')
