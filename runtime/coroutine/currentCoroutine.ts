import { CallScope } from '../context/callScope.js'
import { findCurrentCall } from '../context/currentCall.js'
import type { Coroutine } from './coroutine.js'
import { coroutineOf } from './scopeCoroutine.js'
import { insideStep } from './stepScope.js'

/**
 * The coroutine of the dispatch function running in this async scope, if any. Inside a step's
 * `fn` there is none: the step is not replayed, so what it does runs as outside a dispatch function.
 */
export function currentCoroutine(): Coroutine | undefined {
  const scope = findCurrentCall()
  if (!(scope instanceof CallScope) || insideStep()) return undefined
  return coroutineOf(scope)
}
