import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FUZZ_SEED, recordFigures } from '../fuzz/fuzzConfig.js'
import { removeFolder, startEndpoint, tempFolder, value } from '../scheduler/helpers.js'
import {
  checkInvariants,
  dispatch,
  eventually,
  exited,
  flakyWorkRoutes,
  type SchedulerChild,
  spawnScheduler,
  storeInconsistencies,
} from './processes.js'

// The scheduler SIGKILLed at random moments, 10 times, during a run with 20% temporary failures:
// some kills land while batches are being dispatched, the others while deliveries are under way.
// All 20,000 calls, in `npm test` too: about 45 s on two cores.

const TOTAL = 20_000
const BATCH = 200
const KILLS = 10

/** A small seeded generator (mulberry32): the kill moments are random but the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

let folder: string
let current: SchedulerChild | undefined
const figures = { accepted: 0, completed: 0, lost: 0, crashes: 0, survived: 0, released: 0, runs: 0 }

beforeAll(async () => {
  folder = await tempFolder('dispatch-faults-kills-')
})
afterAll(async () => {
  if (current) await exited(current.process, true)
  await removeFolder(folder)
  recordFigures({
    suite: 'faults: scheduler SIGKILLed at random (20% temporary failures)',
    'calls accepted': figures.accepted,
    'calls completed': figures.completed,
    'calls lost': figures.lost,
    'crashes injected': figures.crashes,
    'crashes survived': figures.survived,
    'attempts found in flight and redelivered': figures.released,
  })
})

describe('faults: the scheduler killed at random moments', () => {
  it(`loses nothing when SIGKILLed ${KILLS} times during ${TOTAL} calls with 20% temporary failures`, async () => {
    const random = seeded(FUZZ_SEED)
    const dbPath = join(folder, 'kills.db')
    current = await spawnScheduler(dbPath)
    const effects = new Map<string, number>()
    const routes = flakyWorkRoutes('test/faults/schedulerKills.test.ts:1', effects, () => figures.runs++, 1)
    const { url: endpoint, app } = await startEndpoint(routes, current.verificationKeyPem)
    const restart = async () => {
      figures.released += current!.released
      await exited(current!.process, true)
      figures.crashes++
      current = await spawnScheduler(dbPath)
      figures.survived++
    }
    try {
      // Three kills while batches are being dispatched, at random batches.
      const batches = TOTAL / BATCH
      const duringDispatch = new Set<number>()
      while (duringDispatch.size < 3) duringDispatch.add(1 + Math.floor(random() * (batches - 1)))
      const accepted = new Set<string>()
      for (let b = 0; b < batches; b++) {
        const calls = Array.from({ length: BATCH }, (_, i) => ({
          endpoint,
          function: 'work',
          input: value([b * BATCH + i]),
          idempotencyKey: `kill-${b * BATCH + i}`,
        }))
        const killing = duringDispatch.has(b) ? restart() : undefined
        for (let attempt = 1; ; attempt++) {
          const answer = current.process.exitCode === null ? await dispatch(current, calls) : undefined
          if (answer?.status === 200) {
            for (const id of answer.body.dispatchIds as string[]) accepted.add(id)
            break
          }
          // Only a kill may interrupt a dispatch: wait for the new process and send the batch again.
          if (killing === undefined || attempt > 50) throw new Error(`dispatch failed: ${JSON.stringify(answer)}`)
          await killing
        }
        await killing
      }
      expect(accepted.size).toBe(TOTAL)

      // The other kills at random points of the deliveries.
      const moments = Array.from({ length: KILLS - figures.crashes }, () => random()).sort()
      for (const moment of moments) {
        const target = Math.floor(moment * TOTAL * 0.95)
        await eventually(() => (effects.size >= target ? true : undefined), 300_000, `${target} calls done`)
        await restart()
      }
      expect(figures.crashes).toBe(KILLS)

      const report = await checkInvariants(current.calls, accepted, () => effects, 300_000)
      figures.released += current.released
      figures.accepted += report.accepted
      figures.completed += report.completed
      figures.lost += report.lost.length
      expect(report.lost).toEqual([])
      expect(report.notTerminal).toEqual([])
      expect(report.okWithoutEffect).toEqual([])
      expect(report.succeeded).toBe(TOTAL)
      expect(figures.runs).toBeGreaterThanOrEqual(TOTAL)
      // The kills did land while attempts were in flight, and those were delivered again.
      expect(figures.released).toBeGreaterThan(0)
      // The store is consistent after the last kill too.
      await exited(current.process, true)
      expect(await storeInconsistencies(dbPath)).toEqual([])
    } finally {
      await app.close()
    }
  }, 900_000)
})
