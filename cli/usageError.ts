import { DispatchError, type DspCode } from 'dispatch-functions/protocol'

/** A bad flag, path or URL given to the CLI: printed without a stack, exit code 2. */
export class UsageError extends DispatchError {
  constructor(code: DspCode, message: string, hint?: string) {
    super(code, message, hint === undefined ? { httpStatus: 400 } : { hint, httpStatus: 400 })
    this.name = 'UsageError'
  }
}
