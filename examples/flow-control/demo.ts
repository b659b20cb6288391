/**
 * `npm run demo:flow`: runs the flow-control example (src/main.ts) under `dispatch run`, with a fresh
 * database in a temporary folder and free ports. `--schedules` names the example's schedules.gen.json
 * (run from its own folder, `dispatch run` finds it by itself), so its `@schedule` runs too.
 */
import { runExample } from '../runExample.js'

process.exitCode = await runExample('examples/flow-control/src/main.ts', [
  '--schedules',
  'examples/flow-control/src/dispatch.gen/schedules.gen.json',
])
