import { generateKeyPairSync } from 'node:crypto'
import { join } from 'node:path'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CallEvents } from '../../scheduler/calls/callEvents.js'
import { oldestDueFirst } from '../../scheduler/delivery/claimSelector.js'
import { DeliveryLoop } from '../../scheduler/delivery/deliveryLoop.js'
import { EndpointClient } from '../../scheduler/delivery/endpointClient.js'
import { type ResolvedSchedulerOptions, resolveSchedulerOptions } from '../../scheduler/schedulerOptions.js'
import { openSqliteStore, type SqliteStore } from '../../scheduler/store/sqliteStore.js'
import { FAST_RETRY, removeFolder, tempFolder, value } from './helpers.js'
import { newCall } from './newCall.js'
import { startScriptedEndpoint } from './scriptedEndpoint.js'

/**
 * The delivery loop's rule: whatever throws while one attempt is prepared or its answer handled fails
 * that call alone (terminal, the error recorded) and frees its slot; the other calls of the same claim
 * are delivered. The loop runs on a real SQLite store against a real endpoint; what throws is the
 * scheduler's own code, made to fail for chosen calls (a retry policy lookup, a log line).
 */

let folder: string
let store: SqliteStore
let endpointApp: FastifyInstance
let endpoint: string

beforeAll(async () => {
  folder = await tempFolder('dispatch-isolation-')
  store = openSqliteStore(join(folder, 'dispatch.db'))
  const started = await startScriptedEndpoint()
  endpointApp = started.app
  endpoint = started.url
})
afterAll(async () => {
  await store.close()
  await endpointApp.close()
  await removeFolder(folder)
})

/** A logger that throws when it logs an attempt of `function` (every other line is dropped). */
function loggerThrowingFor(fn: string): FastifyBaseLogger {
  const logger: Record<string, unknown> = { level: 'info' }
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
    logger[level] = (object: unknown) => {
      if (level === 'info' && (object as { function?: string } | undefined)?.function === fn) {
        throw new Error('the log line exploded')
      }
    }
  }
  logger['child'] = () => logger
  return logger as unknown as FastifyBaseLogger
}

describe('delivery loop: one attempt that throws', () => {
  it('fails that call alone and delivers every other call of its claim', async () => {
    const base = resolveSchedulerOptions({ concurrency: 8, retry: FAST_RETRY, pollIntervalMs: 50 })
    // The retry policy of `explode` cannot be read: preparing its attempt throws.
    const functions = new Proxy(base.functions, {
      get(target, name, receiver) {
        if (name === 'explode') throw new Error('the policy lookup exploded')
        return Reflect.get(target, name, receiver)
      },
    })
    const options: ResolvedSchedulerOptions = { ...base, functions }
    const { privateKey } = generateKeyPairSync('ed25519')
    const client = new EndpointClient(privateKey, 8)
    const loop = new DeliveryLoop({
      store,
      selector: oldestDueFirst(store, { owner: 'node-a', leaseMs: 600_000, batchSize: 100 }),
      client,
      events: new CallEvents(),
      options,
      owner: 'node-a',
      log: loggerThrowingFor('loud'),
    })
    const now = Date.now()
    const permanent = { status: 'STATUS_PERMANENT_ERROR', exit: { result: { error: { type: 'No', message: 'no' } } } }
    // Poison first in due order, so old code stopped before the ordinary calls of the same claim.
    const poison = [
      newCall({ function: 'explode', endpoint, createdAt: now, dueAt: now - 2000 }),
      newCall({ function: 'loud', endpoint, input: value({ answer: permanent }), createdAt: now, dueAt: now - 1500 }),
      newCall({ function: 'explode', endpoint, createdAt: now, dueAt: now - 1000 }),
    ]
    const ordinary = Array.from({ length: 20 }, (_, i) =>
      newCall({ function: 'ordinary', endpoint, input: value(i), createdAt: now, dueAt: now - 500 + i }),
    )
    await store.insertCalls([...poison, ...ordinary], { now, idempotencyWindowMs: 60_000 })
    loop.start()
    try {
      const ids = [...poison, ...ordinary].map((c) => c.dispatchId)
      const deadline = Date.now() + 20_000
      let calls = await store.getCalls(ids)
      while (calls.some((c) => c.state !== 'succeeded' && c.state !== 'failed')) {
        if (Date.now() > deadline)
          throw new Error(
            `not terminal: ${calls.filter((c) => c.state !== 'succeeded' && c.state !== 'failed').map((c) => `${c.function} ${c.state}`)}`,
          )
        await new Promise((resolve) => setTimeout(resolve, 20))
        calls = await store.getCalls(ids)
      }
      const byId = new Map(calls.map((c) => [c.dispatchId, c]))
      for (const c of ordinary) expect(byId.get(c.dispatchId)?.state).toBe('succeeded')
      for (const [c, why] of [
        [poison[0]!, /could not prepare this attempt \(Error: the policy lookup exploded\)/],
        [poison[1]!, /could not handle the answer to this attempt \(Error: the log line exploded\)/],
        [poison[2]!, /could not prepare this attempt/],
      ] as const) {
        const stored = byId.get(c.dispatchId)!
        expect(stored).toMatchObject({ state: 'failed', attempts: 1, error: { type: 'AttemptFailed' } })
        expect(stored.error!.message).toMatch(why)
      }
      // Every slot was given back.
      expect(loop.inFlight).toBe(0)
    } finally {
      await loop.stop(1000)
      await client.close()
    }
  })
})
