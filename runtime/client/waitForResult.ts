import { DispatchError } from '../errors/dispatchError.js'
import type { ClientOptions } from './clientConfig.js'

/**
 * Waits for a dispatched call's result through the scheduler's wait API and returns its output,
 * or throws the call's error. Implemented with the scheduler (issue: embedded scheduler).
 */
export async function waitForResult(_dispatchId: string, _options: ClientOptions = {}): Promise<unknown> {
  throw new DispatchError('DSP2005', 'waiting for a result needs the scheduler wait API, which is not available yet', {
    hint: 'dispatch the call and inspect it with `dispatch calls get <id>`',
  })
}
