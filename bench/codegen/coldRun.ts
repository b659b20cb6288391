/**
 * One cold generation in a fresh process (what `dispatch gen` does): prints the function count,
 * the time from process start, and the peak RSS. Run by bench/codegen/run.ts.
 */
import { generate } from '../../codegen/index.js'

const result = await generate({ cwd: process.argv[2]! })
if (!result.ok) throw new Error(`generation failed: ${result.diagnostics.length} diagnostics`)
process.stdout.write(
  `${JSON.stringify({
    functions: result.functions.length,
    files: result.fileCount,
    sinceStartMs: performance.now(),
    generateMs: result.durationMs,
    maxRssKb: process.resourceUsage().maxRSS,
    cpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
  })}\n`,
)
