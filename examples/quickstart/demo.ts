/**
 * `npm run demo`: runs the quickstart application (src/main.ts) under `dispatch run`, with a
 * fresh database in a temporary folder and free ports, so it works on any machine and leaves
 * nothing behind. A user's own project would run `npx dispatch run -- node dist/main.js`.
 */
import { runExample } from '../runExample.js'

process.exitCode = await runExample('examples/quickstart/src/main.ts')
