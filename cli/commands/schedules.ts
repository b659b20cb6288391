import type { Command } from 'commander'
import { createScheduleServiceClient, type ScheduleServiceClient } from 'dispatch-functions/internal'
import { type ApiFlags, apiClientOptions, apiSubcommand } from '../apiCommand.js'
import { scheduleLine } from '../formatSchedule.js'

/**
 * Registers `dispatch schedules list|pause|resume|trigger`, talking to a running scheduler's
 * ScheduleService (docs/flow-control.md, "Schedules").
 */
export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description(
      'list, pause, resume and trigger the cron schedules of a running scheduler (DISPATCH_API_URL, DISPATCH_API_KEY)',
    )

  const subcommand = (name: string) => apiSubcommand(schedules, name)

  const client = (command: Command): [ScheduleServiceClient, ApiFlags] => {
    const [options, flags] = apiClientOptions(command)
    return [createScheduleServiceClient(options), flags]
  }

  subcommand('list')
    .description('list the schedules: expression, time zone, next tick or paused, missed-ticks policy, what each calls')
    .action(async (_opts: unknown, command: Command) => {
      const [api, flags] = client(command)
      const answer = await api.list()
      if (flags.json) process.stdout.write(`${JSON.stringify(answer)}\n`)
      else if (answer.schedules.length === 0) process.stdout.write('no schedules\n')
      else process.stdout.write(`${answer.schedules.map(scheduleLine).join('\n')}\n`)
    })

  const action = (verb: 'pause' | 'resume' | 'trigger', description: string) =>
    subcommand(verb)
      .description(description)
      .argument('<name>', 'the schedule (dispatch schedules list)')
      .action(async (name: string, _opts: unknown, command: Command) => {
        const [api, flags] = client(command)
        const answer = await api[verb](name)
        if (flags.json) process.stdout.write(`${JSON.stringify(answer)}\n`)
        else if (answer.dispatchId !== undefined) process.stdout.write(`${answer.dispatchId}\n`)
        else process.stdout.write(`${scheduleLine(answer.schedule)}\n`)
      })
  action('pause', 'pause a schedule on every node: its ticks make no call until it is resumed')
  action('resume', 'resume a paused schedule from its next tick after now (the ticks of the pause are not caught up)')
  action('trigger', 'make one call of the schedule now, outside its ticks; prints the dispatch id')
}
