import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import {
  errorClassifier,
  httpError,
  IncompatibleStateError,
  InvalidArgumentError,
  NotFoundError,
  PermanentError,
  PermissionDeniedError,
  registerErrorClassifier,
  TemporaryError,
  ThrottledError,
  TimeoutError,
  UnauthenticatedError,
} from 'dispatch-functions'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeApp, runRequest, send } from './helpers/endpointApp.js'
import { routes, thrower } from './helpers/testRoutes.js'

class QuotaError extends Error {}
class CarefulQuotaError extends QuotaError {}
class LibraryError extends Error {
  constructor(readonly retryable: boolean) {
    super('library failure')
  }
}
class GloballyClassified extends Error {}
registerErrorClassifier(GloballyClassified, 'STATUS_INCOMPATIBLE_STATE')

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const withCode = (code: string) => Object.assign(new Error(`failed: ${code}`), { code })

let app: FastifyInstance
beforeAll(async () => {
  ;({ app } = await makeApp({
    routes,
    verificationKey: false,
    endpoint: 'http://self.test:8000',
    classifiers: [
      { error: QuotaError, status: 'STATUS_THROTTLED' },
      { error: CarefulQuotaError, status: 'STATUS_PERMANENT_ERROR' },
      errorClassifier(LibraryError, (e) => (e.retryable ? undefined : 'STATUS_PERMANENT_ERROR')),
    ],
  }))
})
afterAll(() => app.close())

async function run(message: unknown) {
  const response = await send(app, message, { sign: false })
  expect(response.statusCode).toBe(200)
  return response.json()
}

async function failWith(error: () => unknown) {
  thrower.next = error
  const body = await run(runRequest('fail', []))
  return {
    status: body.status as string,
    error: body.exit.result.error as { type: string; message: string; traceback?: string },
  }
}

describe('classification of what a function throws', () => {
  it.each<[string, () => unknown, string]>([
    ['PermanentError', () => new PermanentError('x'), 'STATUS_PERMANENT_ERROR'],
    ['TemporaryError', () => new TemporaryError('x'), 'STATUS_TEMPORARY_ERROR'],
    ['ThrottledError', () => new ThrottledError('x'), 'STATUS_THROTTLED'],
    ['TimeoutError', () => new TimeoutError('x'), 'STATUS_TIMEOUT'],
    ['InvalidArgumentError', () => new InvalidArgumentError('x'), 'STATUS_INVALID_ARGUMENT'],
    ['NotFoundError', () => new NotFoundError('x'), 'STATUS_NOT_FOUND'],
    ['PermissionDeniedError', () => new PermissionDeniedError('x'), 'STATUS_PERMISSION_DENIED'],
    ['UnauthenticatedError', () => new UnauthenticatedError('x'), 'STATUS_UNAUTHENTICATED'],
    ['IncompatibleStateError', () => new IncompatibleStateError('x'), 'STATUS_INCOMPATIBLE_STATE'],
    ['ECONNREFUSED', () => withCode('ECONNREFUSED'), 'STATUS_TCP_ERROR'],
    ['ECONNRESET', () => withCode('ECONNRESET'), 'STATUS_TCP_ERROR'],
    ['ENOTFOUND', () => withCode('ENOTFOUND'), 'STATUS_DNS_ERROR'],
    ['EAI_AGAIN', () => withCode('EAI_AGAIN'), 'STATUS_DNS_ERROR'],
    ['a TLS certificate error', () => withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'STATUS_TLS_ERROR'],
    ['ETIMEDOUT', () => withCode('ETIMEDOUT'), 'STATUS_TIMEOUT'],
    ['an undici headers timeout', () => withCode('UND_ERR_HEADERS_TIMEOUT'), 'STATUS_TIMEOUT'],
    ['EACCES', () => withCode('EACCES'), 'STATUS_PERMISSION_DENIED'],
    ['a plain Error', () => new Error('boom'), 'STATUS_TEMPORARY_ERROR'],
    ['a TypeError from the engine', () => (null as unknown as { x: number }).x, 'STATUS_TEMPORARY_ERROR'],
    ['a thrown string', () => 'just a string', 'STATUS_TEMPORARY_ERROR'],
    ['a thrown null', () => null, 'STATUS_TEMPORARY_ERROR'],
    [
      'an object whose getters throw (also at the logger)',
      () => ({
        get name(): string {
          throw new Error('getter')
        },
        get message(): string {
          throw new Error('getter')
        },
      }),
      'STATUS_TEMPORARY_ERROR',
    ],
    ['an AbortError not caused by expiration', () => new DOMException('stop', 'AbortError'), 'STATUS_TEMPORARY_ERROR'],
  ])('%s', async (_, make, status) => {
    const result = await failWith(() => {
      const made = make()
      return made instanceof Promise ? made : Promise.reject(made)
    })
    expect(result.status).toBe(status)
  })

  it('a real refused connection from fetch (wrapped in TypeError: fetch failed) → TCP_ERROR', async () => {
    const port = await closedPort()
    const result = await failWith(() => fetch(`http://127.0.0.1:${port}/`))
    expect(result.status).toBe('STATUS_TCP_ERROR')
    expect(result.error.type).toBe('TypeError')
  })

  it('a real AbortSignal.timeout → TIMEOUT', async () => {
    const result = await failWith(
      () =>
        new Promise((_, reject) => {
          const signal = AbortSignal.timeout(1)
          signal.addEventListener('abort', () => reject(signal.reason))
        }),
    )
    expect(result.status).toBe('STATUS_TIMEOUT')
  })

  it('a real missing file → NOT_FOUND', async () => {
    expect((await failWith(() => readFile('/nonexistent/dispatch-test'))).status).toBe('STATUS_NOT_FOUND')
  })

  it.each<[number, string]>([
    [400, 'STATUS_INVALID_ARGUMENT'],
    [401, 'STATUS_UNAUTHENTICATED'],
    [403, 'STATUS_PERMISSION_DENIED'],
    [404, 'STATUS_NOT_FOUND'],
    [408, 'STATUS_TIMEOUT'],
    [429, 'STATUS_THROTTLED'],
    [501, 'STATUS_PERMANENT_ERROR'],
    [503, 'STATUS_TEMPORARY_ERROR'],
    [409, 'STATUS_PERMANENT_ERROR'],
  ])('httpError of an HTTP %i response → %s', async (code, status) => {
    const result = await failWith(() => Promise.reject(httpError(new Response(null, { status: code }))))
    expect(result.status).toBe(status)
    expect(result.error.message).toContain(`HTTP ${code}`)
  })

  it('reports type, message and a base64 traceback', async () => {
    const { error } = await failWith(() => Promise.reject(new ThrottledError('slow down')))
    expect(error.type).toBe('ThrottledError')
    expect(error.message).toBe('slow down')
    expect(Buffer.from(error.traceback!, 'base64').toString()).toContain('ThrottledError: slow down')
  })
})

describe('user classifiers', () => {
  it('classify by error class, most specific class first', async () => {
    expect((await failWith(() => Promise.reject(new QuotaError('q')))).status).toBe('STATUS_THROTTLED')
    expect((await failWith(() => Promise.reject(new CarefulQuotaError('q')))).status).toBe('STATUS_PERMANENT_ERROR')
  })
  it('a classifier function may decline (fall through to the defaults)', async () => {
    expect((await failWith(() => Promise.reject(new LibraryError(false)))).status).toBe('STATUS_PERMANENT_ERROR')
    expect((await failWith(() => Promise.reject(new LibraryError(true)))).status).toBe('STATUS_TEMPORARY_ERROR')
  })
  it('registerErrorClassifier applies process-wide', async () => {
    expect((await failWith(() => Promise.reject(new GloballyClassified('g')))).status).toBe('STATUS_INCOMPATIBLE_STATE')
  })
})

describe('results', () => {
  it('encodes the output as a google.protobuf.Value', async () => {
    expect(await run(runRequest('add', [2, 3]))).toEqual({
      status: 'STATUS_OK',
      exit: { result: { output: { '@type': 'type.googleapis.com/google.protobuf.Value', value: 5 } } },
    })
  })
  it('omits the output of a function that returns nothing', async () => {
    expect(await run(runRequest('publish', ['https://x.test/', { n: 1, tags: [] }]))).toEqual({
      status: 'STATUS_OK',
      exit: { result: {} },
    })
  })
  it('answers INVALID_RESPONSE when the result does not match the output schema', async () => {
    const body = await run(runRequest('badOutput', []))
    expect(body.status).toBe('STATUS_INVALID_RESPONSE')
    expect(body.exit.result.error.message).toContain('$.ok: must be boolean')
  })
  it('answers INVALID_RESPONSE when the result is not JSON', async () => {
    const body = await run(runRequest('notJson', []))
    expect(body.status).toBe('STATUS_INVALID_RESPONSE')
    expect(body.exit.result.error.message).toMatch(/not JSON/)
  })
  it('answers INCOMPATIBLE_STATE to a poll result (no coroutine state to resume)', async () => {
    expect((await run({ function: 'add', pollResult: { results: [] } })).status).toBe('STATUS_INCOMPATIBLE_STATE')
  })
})

describe('tail calls', () => {
  it('to another service: the built call’s endpoint, function, input and expiration', async () => {
    expect(await run(runRequest('tailOther', [41]))).toEqual({
      status: 'STATUS_OK',
      exit: {
        result: {},
        tailCall: {
          endpoint: 'http://other.test:9000',
          function: 'add',
          input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [41, 1] },
          expiration: '10s',
        },
      },
    })
  })
  it('without a client endpoint: the plugin’s endpoint option', async () => {
    const body = await run(runRequest('tailLocal', [1]))
    expect(body.exit.tailCall).toEqual({
      endpoint: 'http://self.test:8000',
      function: 'add',
      input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: [1, 2] },
    })
  })
})

describe('call context', () => {
  it('exposes the ids and times of the RunRequest', async () => {
    const creationTime = '2026-11-28T05:00:00.000Z'
    const expirationTime = new Date(Date.now() + 3_600_000).toISOString()
    const body = await run(
      runRequest('context', [], {
        dispatchId: 'd-1',
        parentDispatchId: 'd-0',
        rootDispatchId: 'd-root',
        creationTime,
        expirationTime,
      }),
    )
    expect(body.exit.result.output.value).toEqual({
      function: 'context',
      dispatchId: 'd-1',
      parentDispatchId: 'd-0',
      rootDispatchId: 'd-root',
      creationTime,
      expirationTime,
      aborted: false,
    })
  })
  it('aborts the signal at the expiration time, and the abort is a TIMEOUT', async () => {
    const expirationTime = new Date(Date.now() + 100).toISOString()
    const body = await run(runRequest('waitForExpiration', [], { expirationTime }))
    expect(body.status).toBe('STATUS_TIMEOUT')
  })
  it('an already expired call sees an aborted signal', async () => {
    const body = await run(runRequest('context', [], { expirationTime: '2020-01-01T00:00:00Z' }))
    expect(body.exit.result.output.value.aborted).toBe(true)
  })
})
