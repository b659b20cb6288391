/**
 * Test-only crash points (the fault suite): with `DISPATCH_TEST_CRASH_AT=<point>` set when the
 * process starts, the scheduler SIGKILLs itself the first time it reaches that point. Unset (always,
 * outside test/faults), each point costs one comparison with undefined.
 *
 * Points: `dispatch-before-commit` (a batch validated, not yet stored), `dispatch-after-commit`
 * (stored, the ids not yet sent), `after-claim` (calls leased, not yet delivered), `after-delivery`
 * (an endpoint answered, the outcome not yet recorded), `poll-before-record` (a coroutine answered a
 * Poll: its state and child calls are not yet recorded).
 */
export const CRASH_AT: string | undefined = process.env['DISPATCH_TEST_CRASH_AT'] || undefined

export function crashAt(point: string): void {
  if (point === CRASH_AT) process.kill(process.pid, 'SIGKILL')
}
