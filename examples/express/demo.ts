/**
 * `npm run demo:express`: runs the Express example (src/main.ts) under `dispatch run`, with a fresh
 * database in a temporary folder and free ports.
 */
import { runExample } from '../runExample.js'

process.exitCode = await runExample('examples/express/src/main.ts')
