import { CallFailedError } from './callFailedError.js'
import { createCallServiceClient } from './callService.js'
import type { ClientOptions } from './clientConfig.js'

/**
 * Waits (long polls, for as long as it takes) for a dispatched call's result through the
 * scheduler's wait API. Resolves to its output; throws {@link CallFailedError} when it failed or
 * was cancelled.
 */
export async function waitForResult(dispatchId: string, options: ClientOptions = {}): Promise<unknown> {
  const calls = createCallServiceClient(options)
  for (;;) {
    const { call, done } = await calls.wait(dispatchId, '60s')
    if (!done) continue
    if (call.state === 'succeeded') return call.output?.value
    throw new CallFailedError(call)
  }
}
