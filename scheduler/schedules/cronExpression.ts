import { Cron } from 'croner'

/**
 * A cron expression read in a time zone (croner: 5 fields, or 6 with seconds first; `@daily` and
 * the other nicknames), or what is wrong with it.
 */
export function parseCron(cron: string, timezone: string): CronExpression | string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone })
  } catch {
    return `time zone ${JSON.stringify(timezone)} is not an IANA time zone (Europe/Paris, America/New_York, UTC)`
  }
  let parsed: Cron
  try {
    // `paused`: croner only computes times here, it never runs a timer of its own.
    parsed = new Cron(cron, { timezone, paused: true })
  } catch (error) {
    return `${JSON.stringify(cron)} is not a cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}`
  }
  if (parsed.nextRun(new Date()) === null) return `${JSON.stringify(cron)} never fires (no such date)`
  return new CronExpression(parsed)
}

/** The ticks of a parsed expression. */
export class CronExpression {
  constructor(private readonly cron: Cron) {}

  /** The first tick strictly after `after` (ms since the epoch); undefined when there is none. */
  nextAfter(after: number): number | undefined {
    return this.cron.nextRun(new Date(after))?.getTime()
  }

  /** The latest `count` ticks from `from` to `at` (both included), oldest first. */
  latestBetween(from: number, at: number, count: number): number[] {
    // Usually one tick or a few are due: walk forward from `from`, at most `count` steps.
    const ticks: number[] = []
    let tick: number | undefined = from
    while (tick !== undefined && tick <= at && ticks.length <= count) {
      ticks.push(tick)
      tick = this.nextAfter(tick)
    }
    if (ticks.length <= count) return ticks
    // More than `count` were due (downtime): the latest `count`, counted back from `at`. croner looks
    // strictly before a whole second, and ticks fall on whole seconds: the second after `at` takes in
    // a tick at `at` itself.
    const reference = new Date(Math.floor(at / 1000) * 1000 + 1000)
    return this.cron
      .previousRuns(count, reference)
      .map((date) => date.getTime())
      .filter((t) => t >= from)
      .reverse()
  }
}
