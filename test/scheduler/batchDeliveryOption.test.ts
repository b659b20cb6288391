import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { SchedulerOptions } from '../../scheduler/index.js'
import { resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { removeFolder, startTestScheduler, tempFolder } from './helpers.js'

// The `batchDelivery` option as a configuration gives it: checked before anything starts, a bad
// value refused with DSP3005 naming the option, the value given and the range.

function refusal(batchDelivery: unknown): { code?: string; message: string } | undefined {
  try {
    resolveSchedulerOptions({ batchDelivery } as SchedulerOptions)
  } catch (error) {
    return error as { code?: string; message: string }
  }
  return undefined
}

describe('the batchDelivery option', () => {
  it('takes maxCalls 1 to 256, false, or nothing (the default, 32)', () => {
    expect(resolveSchedulerOptions({}).batchMaxCalls).toBe(32)
    expect(resolveSchedulerOptions({ batchDelivery: { maxCalls: 256 } }).batchMaxCalls).toBe(256)
    expect(resolveSchedulerOptions({ batchDelivery: { maxCalls: 2 } }).batchMaxCalls).toBe(2)
    // One call per request: batching off, as with false.
    expect(resolveSchedulerOptions({ batchDelivery: { maxCalls: 1 } }).batchMaxCalls).toBeUndefined()
    expect(resolveSchedulerOptions({ batchDelivery: false }).batchMaxCalls).toBeUndefined()
  })

  it('refuses a maxCalls out of 1 to 256 or not a whole number, saying what was given (DSP3005)', () => {
    for (const [maxCalls, shown] of [
      [0, '0'],
      [257, '257'],
      [1.5, '1.5'],
      [Number.NaN, 'NaN'],
      ['8', '"8"'],
      [undefined, 'undefined'],
    ] as const) {
      const error = refusal({ maxCalls })
      expect(error?.code).toBe('DSP3005')
      expect(error?.message).toBe(
        `the scheduler option batchDelivery.maxCalls is ${shown}, not a whole number from 1 to 256`,
      )
    }
  })

  it('refuses a batchDelivery that is neither an object nor false (DSP3005)', () => {
    for (const [value, shown] of [
      [true, 'true'],
      [null, 'null'],
      [32, '32'],
      [[32], '[32]'],
    ] as const) {
      const error = refusal(value)
      expect(error?.code).toBe('DSP3005')
      expect(error?.message).toBe(`the scheduler option batchDelivery is ${shown}, not an object or false`)
    }
  })

  it('fails startScheduler before the store opens', async () => {
    const folder = await tempFolder()
    try {
      await expect(
        startTestScheduler(join(folder, 'dispatch.db'), { batchDelivery: { maxCalls: 300 } }),
      ).rejects.toMatchObject({ code: 'DSP3005', message: expect.stringMatching(/batchDelivery\.maxCalls is 300/) })
      expect(existsSync(join(folder, 'dispatch.db'))).toBe(false)
    } finally {
      await removeFolder(folder)
    }
  })
})
