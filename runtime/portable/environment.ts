// `process` is a global on Node, Bun and Deno, and on Workers with Node compatibility; elsewhere
// there are no environment variables, and warnings go to the console.
const nodeProcess = (
  globalThis as {
    process?: { env?: Record<string, string | undefined>; stderr?: { write(text: string): unknown } }
  }
).process

/** An environment variable, or undefined where there is none (or no environment at all). */
export function environmentVariable(name: string): string | undefined {
  return nodeProcess?.env?.[name]
}

/** Writes a line for the operator: stderr where there is one, else `console.error`. */
export function writeToOperator(line: string): void {
  if (typeof nodeProcess?.stderr?.write === 'function') nodeProcess.stderr.write(line)
  else console.error(line.replace(/\n$/, ''))
}
