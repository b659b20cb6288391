/**
 * `npm run demo:fanout`: runs the fan-out coroutine example (src/main.ts) under `dispatch run`,
 * with a fresh database in a temporary folder and free ports.
 */
import { runExample } from '../runExample.js'

process.exitCode = await runExample('examples/fanout/src/main.ts')
