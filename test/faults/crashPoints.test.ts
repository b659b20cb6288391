import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { all, createClient, currentCall, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { recordFigures } from '../fuzz/fuzzConfig.js'
import { removeFolder, startEndpoint, tempFolder, value } from '../scheduler/helpers.js'
import {
  checkInvariants,
  dispatch,
  eventually,
  exited,
  listAll,
  type SchedulerChild,
  spawnScheduler,
  storeInconsistencies,
} from './processes.js'

// A deterministic crash at each step of a call's life, through the scheduler's test-only hook
// (DISPATCH_TEST_CRASH_AT, read by test/scheduler/fixtures/schedulerProcess.ts): the process SIGKILLs itself at the point, is
// started again without the hook, and the invariants must hold.

const BATCH = 20
const figures = { accepted: 0, completed: 0, lost: 0, crashes: 0, survived: 0, redelivered: 0 }
let folder: string
const children: SchedulerChild[] = []

beforeAll(async () => {
  folder = await tempFolder('dispatch-faults-points-')
})
afterAll(async () => {
  for (const child of children) await exited(child.process, true)
  await removeFolder(folder)
  recordFigures({
    suite: 'faults: crash at each step',
    'calls accepted': figures.accepted,
    'calls completed': figures.completed,
    'calls lost': figures.lost,
    'crashes injected': figures.crashes,
    'crashes survived': figures.survived,
  })
})

async function start(dbPath: string, crashAt?: string): Promise<SchedulerChild> {
  const child = await spawnScheduler(dbPath, crashAt === undefined ? {} : { DISPATCH_TEST_CRASH_AT: crashAt })
  children.push(child)
  return child
}

const effects = new Map<string, number>()
const routes = defineRoutes({
  work: {
    input: tupleSchema([{}]),
    output: {},
    source: 'test/faults/crashPoints.test.ts:1',
    handler: (n: number) => {
      const id = currentCall().dispatchId!
      effects.set(id, (effects.get(id) ?? 0) + 1)
      return n
    },
  },
})

const fanRoutes = defineRoutes({
  ...routes,
  // A coroutine: its Poll (state and 5 children) is what the crash point interrupts.
  fan: {
    input: tupleSchema([{}]),
    output: {},
    source: 'test/faults/crashPoints.test.ts:2',
    handler: async (n: number) => {
      const values = await all(Array.from({ length: 5 }, (_, i) => work.work.call(n * 10 + i)))
      return values.reduce((a, b) => a + b, 0)
    },
  },
})
const work = createClient<{ work: { args: [number]; output: number } }>({ work: 1 })

const batchOf = (endpoint: string, point: string) =>
  Array.from({ length: BATCH }, (_, i) => ({
    endpoint,
    function: 'work',
    input: value([i]),
    idempotencyKey: `${point}-${i}`,
  }))

describe('faults: a crash at each step of a call', () => {
  for (const point of ['dispatch-before-commit', 'dispatch-after-commit', 'after-claim', 'after-delivery']) {
    it(`survives a SIGKILL at ${point}`, async () => {
      const dbPath = join(folder, `${point}.db`)
      // The keys are made at the first start and kept beside the database: start once to learn them.
      const first = await start(dbPath)
      const { url: endpoint, app } = await startEndpoint(routes, first.verificationKeyPem)
      await exited(first.process, true)
      try {
        const crashing = await start(dbPath, point)
        const calls = batchOf(endpoint, point)
        const answer = await dispatch(crashing, calls)
        const signal = await exited(crashing.process)
        figures.crashes++
        expect(signal).toBe('SIGKILL')

        const restarted = await start(dbPath)
        const before = await listAll(restarted.calls)
        if (point.startsWith('dispatch-')) {
          // The client never got the ids; the batch is all there (after the commit) or not at all.
          expect(answer).toBeUndefined()
          expect(before.size).toBe(point === 'dispatch-before-commit' ? 0 : BATCH)
        } else if (answer === undefined) {
          // Delivery may start a call once its dispatch is committed, while the reply still waits for
          // the fsync: the crash came before the client got its ids. The batch is all there.
          expect(before.size).toBe(BATCH)
        } else {
          expect(answer.status).toBe(200)
        }
        // The client sends the batch again with the same idempotency keys: the same calls, once.
        const again = await dispatch(restarted, calls)
        expect(again?.status).toBe(200)
        const ids = new Set<string>(again!.body.dispatchIds)
        if (answer?.status === 200) expect(again!.body.dispatchIds).toEqual(answer.body.dispatchIds)
        expect(ids.size).toBe(BATCH)

        const report = await checkInvariants(restarted.calls, ids, effects)
        expect(report.lost).toEqual([])
        expect(report.notTerminal).toEqual([])
        expect(report.okWithoutEffect).toEqual([])
        expect(report.succeeded).toBe(BATCH)
        expect((await listAll(restarted.calls)).size).toBe(BATCH)
        if (point === 'after-claim' || point === 'after-delivery') {
          // The claimed attempts were found in flight and delivered again.
          await eventually(() => (restarted.released > 0 ? true : undefined), 10_000, 'released leases logged')
        }
        if (point === 'after-delivery') {
          // At least once: the attempt whose answer was lost ran again.
          figures.redelivered += [...ids].filter((id) => (effects.get(id) ?? 0) > 1).length
          expect([...ids].some((id) => (effects.get(id) ?? 0) > 1)).toBe(true)
        }
        await exited(restarted.process, true)
        expect(await storeInconsistencies(dbPath)).toEqual([])
        figures.survived++
        figures.accepted += report.accepted
        figures.completed += report.completed
        figures.lost += report.lost.length
      } finally {
        await app.close()
      }
    })
  }

  it('survives a SIGKILL at poll-before-record (a coroutine suspended, its children not yet stored)', async () => {
    const point = 'poll-before-record'
    const dbPath = join(folder, `${point}.db`)
    const first = await start(dbPath)
    const { url: endpoint, app } = await startEndpoint(fanRoutes, first.verificationKeyPem)
    await exited(first.process, true)
    try {
      const crashing = await start(dbPath, point)
      const answer = await dispatch(crashing, [{ endpoint, function: 'fan', input: value([7]) }])
      expect(answer?.status).toBe(200)
      const [parent] = answer!.body.dispatchIds as [string]
      expect(await exited(crashing.process)).toBe('SIGKILL')
      figures.crashes++

      const restarted = await start(dbPath)
      const report = await checkInvariants(restarted.calls, new Set([parent]), new Map([[parent, 1]]))
      expect(report.lost).toEqual([])
      expect(report.succeeded).toBe(1)
      const all = await listAll(restarted.calls)
      expect(all.get(parent)?.output?.value).toBe(70 + 71 + 72 + 73 + 74)
      // The lost Poll was answered again after the restart: its children exist once, each ran.
      const kids = [...all.values()].filter((c) => c.parentDispatchId === parent)
      expect(kids).toHaveLength(5)
      for (const kid of kids) {
        expect(kid.state).toBe('succeeded')
        expect(effects.get(kid.dispatchId)).toBeGreaterThanOrEqual(1)
      }
      await eventually(() => (restarted.released > 0 ? true : undefined), 10_000, 'released leases logged')
      await exited(restarted.process, true)
      expect(await storeInconsistencies(dbPath)).toEqual([])
      figures.survived++
      figures.accepted += 1
      figures.completed += 1
    } finally {
      await app.close()
    }
  })
})
