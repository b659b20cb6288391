import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../codegen/helpers.js'

// The scheduler's entry point (`dispatch-functions-tools/scheduler`) is what applications and the CLI
// use: starting a scheduler, its options, the Store interface and the two stores. Internals (the
// delivery loop, the API server, migrations) are imported by path, by tests only. A change to this
// list is a change to the public API: make it on purpose, here and in scheduler/index.ts.
const PUBLIC_NAMES = [
  'AdaptiveConcurrencyOptions',
  'ApiTimeouts',
  'BackPressureOptions',
  'CallCounts',
  'CappedClaimRequest',
  'CappedTurn',
  'ChangeResult',
  'ClaimRequest',
  'Completion',
  'CoroutineState',
  'CountOptions',
  'DashboardOptions',
  'EndpointConcurrency',
  'FairnessOptions',
  'IdempotencyConflict',
  'InProcessOptions',
  'InsertOptions',
  'InsertResult',
  'LeaseExtension',
  'ListFilter',
  'ListPage',
  'ListedCall',
  'MetricsOptions',
  'NewCall',
  'NewDebounce',
  'PostgresStore',
  'PostgresStoreOptions',
  'QueueBacklog',
  'QueueClaim',
  'QueueClaimRequest',
  'QueueKey',
  'RetryPolicy',
  'ScheduleDefinition',
  'ScheduleFiring',
  'ScheduleOptions',
  'ScheduleSync',
  'Scheduler',
  'SchedulerOptions',
  'SchedulerStats',
  'SqliteStore',
  'SqliteStoreOptions',
  'Store',
  'StoredAttempt',
  'StoredCall',
  'StoredDebounce',
  'StoredPoll',
  'StoredResult',
  'StoredSchedule',
  'openPostgresStore',
  'openSqliteStore',
  'startScheduler',
]

/** Each `export ... from` statement of an entry point: its names, and whether a doc comment precedes it. */
function exportsOf(path: string): { names: string[]; documented: boolean }[] {
  const text = readFileSync(join(repoRoot, path), 'utf8')
  return [...text.matchAll(/(\*\/\n)?export (?:type )?\{([^}]*)\} from '[^']+'/g)].map((m) => ({
    names: m[2]!
      .split(',')
      .map((name) => name.replace(/^\s*type\s+/, '').trim())
      .filter((name) => name !== ''),
    documented: m[1] !== undefined,
  }))
}

describe('the scheduler entry point', () => {
  it('exports exactly the public names', () => {
    const names = exportsOf('scheduler/index.ts').flatMap((e) => e.names)
    expect(names.sort()).toEqual([...PUBLIC_NAMES].sort())
  })

  it('documents every export', () => {
    for (const path of ['scheduler/index.ts', 'scheduler/internal.ts']) {
      const undocumented = exportsOf(path).filter((e) => !e.documented)
      expect(undocumented, path).toEqual([])
    }
  })
})
