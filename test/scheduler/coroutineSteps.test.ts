import { Type } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  all,
  createClient,
  defineRoutes,
  PermanentError,
  race,
  StepFailedError,
  sleep,
  step,
  TemporaryError,
  tupleSchema,
} from '../../runtime/index.js'
import { createTestEnvironment, type TestEnvironment } from '../../testing/index.js'

// Durable steps through the real scheduler and endpoint code (the test environment: in-process
// delivery, a fake clock): each step's fn runs once however many turns replay the function.

/** How many times each step's fn ran (its side effect), by name. */
const effects = new Map<string, number>()
const ran = (name: string) => effects.get(name) ?? 0
const effect = (name: string) => effects.set(name, ran(name) + 1)
/** Failures still to throw, by step name. */
const failures = new Map<string, () => Error>()
let failuresLeft = 0

async function checkout(order: string): Promise<{ charged: string; emailed: string; child: number }> {
  const charged = await step('charge', () => {
    effect('charge')
    return `receipt-${order}`
  })
  const child = await client.double.call(21)
  await sleep('1m')
  const emailed = await step('email', async () => {
    effect('email')
    return `sent-${charged}`
  })
  await client.double.call(1)
  return { charged, emailed, child }
}

async function flaky(kind: string): Promise<{ value?: string; error?: string; attempts?: number }> {
  try {
    const value = await step(
      'flaky',
      ({ attempt }) => {
        effect('flaky')
        if (failuresLeft-- > 0) throw failures.get(kind)!()
        return `ok on attempt ${attempt}`
      },
      { attempts: 3, backoff: { initial: 1, max: 2 } },
    )
    await sleep('1s') // a later turn replays the step's outcome
    return { value }
  } catch (error) {
    if (!(error instanceof StepFailedError)) throw error
    await sleep('1s') // the failure is journaled too: the replay throws the same error
    return { error: `${error.errorType}: ${error.errorMessage}`, attempts: error.attempts }
  }
}

async function slow(caught: boolean): Promise<string> {
  const hang = step(
    'hang',
    ({ signal }) => {
      effect('hang')
      return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    },
    { timeout: 20, attempts: 2, backoff: { initial: 1 } },
  )
  if (!caught) return await hang
  try {
    return await hang
  } catch (error) {
    return `${(error as StepFailedError).errorType} after ${(error as StepFailedError).attempts}`
  }
}

async function gather(): Promise<unknown[]> {
  const first = await all([
    step('a', () => {
      effect('a')
      return 1
    }),
    client.double.call(5),
    step('b', async () => {
      effect('b')
      await new Promise((resolve) => setImmediate(resolve))
      return 2
    }),
  ])
  const second = await Promise.all([
    client.double.call(7),
    step('c', () => {
      effect('c')
      return { c: 3 }
    }),
  ])
  const winner = await race([
    sleep('1h').then(() => 'timer'),
    step('d', () => {
      effect('d')
      return 'step'
    }),
  ])
  await sleep('1m')
  return [first, second, winner]
}

async function nested(): Promise<string> {
  return step('outer', () => client.double.call(1).then(String), { attempts: 5 })
}

async function nap(ms: number): Promise<string> {
  await sleep(ms)
  return 'awake'
}

async function double(n: number): Promise<number> {
  return n * 2
}

const any = Type.Any()
const routes = defineRoutes({
  checkout: { input: tupleSchema([Type.String()]), output: any, handler: checkout, source: 'test' },
  flaky: { input: tupleSchema([Type.String()]), output: any, handler: flaky, source: 'test' },
  slow: { input: tupleSchema([Type.Boolean()]), output: Type.String(), handler: slow, source: 'test' },
  gather: { input: tupleSchema([]), output: any, handler: gather, source: 'test' },
  nested: { input: tupleSchema([]), output: Type.String(), handler: nested, source: 'test' },
  double: { input: tupleSchema([Type.Number()]), output: Type.Number(), handler: double, source: 'test' },
  nap: { input: tupleSchema([Type.Number()]), output: Type.String(), handler: nap, source: 'test' },
})
const client = createClient<{
  checkout: { args: [string]; output: { charged: string; emailed: string; child: number } }
  flaky: { args: [string]; output: { value?: string; error?: string; attempts?: number } }
  slow: { args: [boolean]; output: string }
  gather: { args: []; output: unknown[] }
  nested: { args: []; output: string }
  double: { args: [number]; output: number }
  nap: { args: [number]; output: string }
}>({ checkout: 1, flaky: 1, slow: 1, gather: 0, nested: 0, double: 1, nap: 1 })

describe('durable steps', () => {
  let env: TestEnvironment<typeof routes>
  beforeEach(async () => {
    effects.clear()
    failuresLeft = 0
    failures.set('temporary', () => new TemporaryError('the mail server is restarting'))
    failures.set('permanent', () => new PermanentError('no such mailbox'))
    env = await createTestEnvironment({ routes })
  })
  afterEach(() => env.close())

  it('runs each step once across the turns that replay it, and hands back its journaled value', async () => {
    const id = await client.checkout('o1')
    await env.advanceTime('1m')
    const call = await env.waitFor(id)
    expect(call).toMatchObject({
      state: 'succeeded',
      output: { charged: 'receipt-o1', emailed: 'sent-receipt-o1', child: 42 },
    })
    // Four turns (the child, the sleep, the second child, the end), each replaying from the start.
    expect(call.attempts.length).toBeGreaterThanOrEqual(4)
    expect([ran('charge'), ran('email')]).toEqual([1, 1])
  })

  it('retries a step on a retried error, and journals its value', async () => {
    failuresLeft = 2
    const id = await client.flaky('temporary')
    await env.runUntilIdle()
    expect((await env.inspect(id)).state).toBe('suspended')
    await env.advanceTime('1s')
    expect((await env.waitFor(id)).output).toEqual({ value: 'ok on attempt 3' })
    expect(ran('flaky')).toBe(3)
  })

  it('throws a StepFailedError once the attempts are used up, the same on replay', async () => {
    failuresLeft = 10
    const id = await client.flaky('temporary')
    await env.advanceTime('1s')
    expect((await env.waitFor(id)).output).toEqual({
      error: 'TemporaryError: the mail server is restarting',
      attempts: 3,
    })
    expect(ran('flaky')).toBe(3)
  })

  it('does not retry an error whose status is not retried', async () => {
    failuresLeft = 10
    const id = await client.flaky('permanent')
    await env.advanceTime('1s')
    expect((await env.waitFor(id)).output).toEqual({ error: 'PermanentError: no such mailbox', attempts: 1 })
    expect(ran('flaky')).toBe(1)
  })

  it('times an attempt out (aborting its signal), retries it, and fails the call when uncaught', async () => {
    expect((await env.waitFor(await client.slow(true))).output).toBe('TimeoutError after 2')
    expect(ran('hang')).toBe(2)
    const failed = await env.waitFor(await client.slow(false))
    expect(failed).toMatchObject({ state: 'failed', status: 'STATUS_PERMANENT_ERROR' })
    expect(failed.error).toMatchObject({
      type: 'StepFailedError',
      message: expect.stringMatching(
        /^step hang failed \(ran 2 times\): TimeoutError: step hang took longer than 20 ms/,
      ),
    })
    // The failed coroutine is not retried: its step already was.
    expect(failed.attempts).toHaveLength(1)
  })

  it('works inside all(), Promise.all and race(), each step once', async () => {
    const id = await client.gather()
    await env.advanceTime('1m')
    const call = await env.waitFor(id)
    expect(call.output).toEqual([[1, 10, 2], [14, { c: 3 }], 'step'])
    expect(['a', 'b', 'c', 'd'].map(ran)).toEqual([1, 1, 1, 1])
    expect(call.children.map((c) => c.output).sort()).toEqual([10, 14])
  })

  it('refuses a durable call inside a step, without retrying it', async () => {
    const call = await env.waitFor(await client.nested())
    expect(call).toMatchObject({ state: 'failed', status: 'STATUS_PERMANENT_ERROR' })
    expect(call.error!.message).toMatch(/step outer failed \(ran once\): DispatchError: double\.call\(\) inside a step/)
    expect(call.children).toEqual([])
  })
})

describe('a sub-second sleep', () => {
  it('resumes the coroutine once the time asked has passed, to the millisecond', async () => {
    const env = await createTestEnvironment({ routes })
    try {
      const id = await client.nap(250)
      await env.runUntilIdle()
      await env.advanceTime(249)
      expect((await env.inspect(id)).state).toBe('suspended')
      await env.advanceTime(1)
      expect(await env.waitFor(id)).toMatchObject({ state: 'succeeded', output: 'awake' })
    } finally {
      await env.close()
    }
  })
})

describe('a step outside a dispatch function', () => {
  it('just runs fn, with its retries, and throws StepFailedError when it keeps failing', async () => {
    let n = 0
    const value = await step(
      'local',
      () => {
        if (n++ === 0) throw new TemporaryError('once')
        return { at: new Date(0) }
      },
      { backoff: { initial: 0 } },
    )
    // What a replay would see: the JSON of the value.
    expect(value).toEqual({ at: '1970-01-01T00:00:00.000Z' })
    await expect(
      step(
        'never',
        () => {
          throw new TemporaryError('down')
        },
        { attempts: 2, backoff: { initial: 0 } },
      ),
    ).rejects.toMatchObject({ name: 'StepFailedError', code: 'DSP2260', attempts: 2, errorType: 'TemporaryError' })
    await expect(step('bad', () => 1n)).rejects.toMatchObject({ errorMessage: expect.stringMatching(/not JSON/) })
    expect(() => step('', () => 1)).toThrow(expect.objectContaining({ code: 'DSP2261' }))
    expect(() => step('x', () => 1, { attempts: 0 })).toThrow(expect.objectContaining({ code: 'DSP2261' }))
  })
})
