import type { Status } from '../../schemas/status.js'
import { writeToOperator } from '../portable/environment.js'

/** The default log line of a failed run, for adapters whose framework has no logger to hand it to. */
export function reportFailure(functionName: string, status: Status, error: unknown): void {
  if (status === 'STATUS_INCOMPATIBLE_STATE' && error instanceof Error) {
    // Not a failure of the call: the scheduler restarts it from its input (the message has its DSP code).
    writeToOperator(`dispatch: warning: coroutine ${functionName} restarts from its input: ${error.message}\n`)
    return
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  writeToOperator(`dispatch: function ${functionName} failed (${status}): ${message}\n`)
}
