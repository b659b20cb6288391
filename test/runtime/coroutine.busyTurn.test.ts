import { describe, expect, it, vi } from 'vitest'
import { createClient, defineRoutes, tupleSchema } from '../../runtime/index.js'
import { RUN, runRequest } from './helpers/endpointApp.js'

// A turn that suspends while the function awaits ordinary I/O beside a durable call: the endpoint
// answers the Poll, and when the function carries on after it, warns once (DSP2267) through
// onWarning. Here through the fetch entry (the warning needs no promise hook, nor any node: module);
// and the default warning line of a restart from input (DSP2266).

const client = createClient<{ double: { args: [number]; output: number } }>({ double: 1 })
// Ordinary I/O the test finishes itself, once the turn's answer is in: the function is surely
// still awaiting it when its turn suspends, whatever the machine's speed.
let finishIo: () => void = () => {}
let io: Promise<string> = Promise.resolve('io')
function newIo(): void {
  io = new Promise<string>((resolve) => {
    finishIo = () => resolve('io')
  })
}
const routes = defineRoutes({
  busy: {
    source: 'test/runtime/coroutine.busyTurn.test.ts',
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      const a = client.double.call(1)
      await io // I/O outside a step
      // Two operations after the turn ended: still one warning for the turn.
      const b = client.double.call(2)
      const c = client.double.call(3)
      await Promise.all([a, b, c])
    },
  },
  // A race of a durable call against ordinary I/O: the I/O wins after the turn suspended.
  raced: {
    source: 'test/runtime/coroutine.busyTurn.test.ts',
    input: tupleSchema([]),
    output: undefined,
    handler: async () => {
      await Promise.race([client.double.call(1), io])
    },
  },
})

/** Polls `check` until it returns a value, or fails after `ms`. */
async function eventually<T>(check: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const found = check()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error('no warning came')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function run(
  dispatch: (request: Request) => Promise<Response>,
  fn: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const body = JSON.stringify(runRequest(fn, [], extra))
  const response = await dispatch(
    new Request(`http://app.test${RUN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(new TextEncoder().encode(body).length) },
      body,
    }),
  )
  return response.json()
}

describe('a turn that suspends in the middle of ordinary I/O', () => {
  it('is answered with a Poll, then warned about once through onWarning when the function carries on', async () => {
    const { createFetchHandler } = await import('dispatch-functions/fetch')
    const warnings: [string, string][] = []
    const dispatch = createFetchHandler({
      routes,
      verificationKey: false,
      onWarning: (fn, message) => warnings.push([fn, message]),
    })
    newIo()
    const answer = await run(dispatch, 'busy')
    // The turn ended while the I/O ran: only the first call went out.
    expect(answer.poll.calls).toHaveLength(1)
    finishIo()
    const [fn, message] = await eventually(() => warnings[0])
    expect(fn).toBe('busy')
    expect(message).toMatch(
      /^DSP2267: busy was still busy when its turn suspended: after the turn ended, it started a call of double\./,
    )
    expect(warnings).toHaveLength(1)
  })

  it('is warned about when the function returns after its turn suspended', async () => {
    const { createFetchHandler } = await import('dispatch-functions/fetch')
    const warnings: string[] = []
    const dispatch = createFetchHandler({ routes, verificationKey: false, onWarning: (_, m) => warnings.push(m) })
    newIo()
    expect((await run(dispatch, 'raced')).poll.calls).toHaveLength(1)
    finishIo()
    const [message] = await eventually(() => (warnings.length > 0 ? warnings : undefined))
    expect(message).toMatch(
      /^DSP2267: raced was still busy when its turn suspended: after the turn ended, it returned\./,
    )
  })
})

describe('a resumed turn that cannot replay', () => {
  it('logs one warning line with DSP2266 on stderr by default, and answers INCOMPATIBLE_STATE', async () => {
    const { createFetchHandler } = await import('dispatch-functions/fetch')
    const dispatch = createFetchHandler({ routes, verificationKey: false })
    const written: string[] = []
    // Reads what the default logger writes (and lets it through): the line is the behaviour under test.
    const write = process.stderr.write.bind(process.stderr)
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: any, ...rest: any[]) => {
      written.push(String(chunk))
      return write(chunk, ...rest)
    })
    let answer: any
    try {
      const state = btoa(JSON.stringify({ not: 'a journal' }))
      answer = await run(dispatch, 'busy', { pollResult: { coroutineState: state } })
    } finally {
      spy.mockRestore()
    }
    expect(answer.status).toBe('STATUS_INCOMPATIBLE_STATE')
    const lines = written.filter((l) => l.includes('DSP2266'))
    expect(lines).toEqual([
      'dispatch: warning: coroutine busy restarts from its input: DSP2266: busy cannot be resumed: the coroutine state is not a journal of this library (unknown shape)\n',
    ])
  })
})
