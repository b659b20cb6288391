import type { Status } from '../../schemas/status.js'
import { writeToOperator } from '../portable/environment.js'

/** The default log line of a failed run, for adapters whose framework has no logger to hand it to. */
export function reportFailure(functionName: string, status: Status, error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  writeToOperator(`dispatch: function ${functionName} failed (${status}): ${message}\n`)
}
