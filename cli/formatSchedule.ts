/**
 * The key a schedule gives its calls (`schedule:NAME@TICK`, `schedule:NAME@trigger:ID`), read
 * strictly: an idempotency key is the caller's text, so anything else (control characters, a name
 * no schedule may have) is not said to come from a schedule, and never reaches the terminal.
 */
const TICK_KEY =
  /^schedule:([A-Za-z_][A-Za-z0-9_.:-]{0,127})@(?:trigger:([0-9A-Za-z]+)|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z))$/

/** Which schedule made a call, for `calls get`; undefined when its key is not a schedule's. */
export function formatSchedule(idempotencyKey: string | undefined): string | undefined {
  const match = idempotencyKey === undefined ? null : TICK_KEY.exec(idempotencyKey)
  if (match === null) return undefined
  return match[2] !== undefined ? `${match[1]} (triggered by hand)` : `${match[1]}, tick ${match[3]}`
}
