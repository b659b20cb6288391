import { StepFailedError } from '../errors/stepFailedError.js'
import { currentCoroutine } from './currentCoroutine.js'
import { outcomeError, outcomeOutput } from './journalOps.js'
import { runStep, type StepFunction, type StepOptions, stepPlan } from './runStep.js'
import { runInsideStep } from './stepScope.js'

/**
 * A durable step: inside a running dispatch function, runs `fn` once and journals what it returned
 * (as JSON) or the error it failed with; when the function is replayed on a later turn, `step`
 * hands the journaled outcome back without running `fn` again. Put side effects between durable
 * calls here: a payment, an email, a query whose answer the function branches on.
 *
 * `fn` is retried on errors whose status is retried (`options.attempts`, default 3, with a short
 * backoff), each attempt bounded by `options.timeout` when given. When it still fails, the step
 * throws a {@link StepFailedError} with the error's type and message (the same on every replay).
 * Outside a dispatch function (a script, a test) `step` just runs `fn` with its retries.
 *
 * A step runs at least once: `fn` runs again when the process dies after it and before the turn's
 * journal is stored (docs/coroutines.md). Inside `fn` durable calls are refused (DSP2263), and
 * `sleep`, `now()` or a nested `step` behave as outside a dispatch function.
 *
 * @example
 * ```ts
 * const receipt = await step('charge', ({ signal }) => payments.charge(order, { signal }), { timeout: '10s' })
 * await step('email', () => mailer.send(order.email, receipt), { attempts: 5 })
 * ```
 */
export function step<T>(name: string, fn: StepFunction<T>, options?: StepOptions): Promise<Awaited<T>> {
  const plan = stepPlan(name, fn, options)
  const coroutine = currentCoroutine()
  const execute = () => runInsideStep(() => runStep(name, fn, plan, coroutine?.classifiers))
  if (coroutine !== undefined) return coroutine.step(name, execute) as Promise<Awaited<T>>
  return execute().then(({ outcome, attempts }) => {
    const error = outcomeError(outcome)
    if (error !== undefined) throw new StepFailedError({ step: name, attempts, error })
    return outcomeOutput(outcome) as Awaited<T>
  })
}
