import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeApp, runRequest, send } from './helpers/endpointApp.js'
import { calls, routes } from './helpers/testRoutes.js'
import { vectors } from './helpers/vectors.js'

describe('bad requests (before any function runs)', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    ;({ app } = await makeApp({ routes, verificationKey: vectors.key.public_raw_base64 }))
  })
  afterAll(() => app.close())

  it.each<[string, unknown, Record<string, string>, RegExp]>([
    ['malformed JSON', '{"function": "add", ', {}, /not JSON/],
    [
      'a wrong content type',
      JSON.stringify(runRequest('add', [1, 2])),
      { 'content-type': 'text/plain' },
      /content type "text\/plain"/,
    ],
    ['a body that is not an object', '[1, 2]', {}, /not a RunRequest/],
    [
      'a message without function',
      { input: { '@type': 'x', value: [] } },
      {},
      /\$: must have required property 'function'/,
    ],
    ['a function name outside the pattern', runRequest('no-dashes', []), {}, /\$\.function: must match pattern/],
    [
      'a timestamp that is not RFC 3339',
      runRequest('add', [1, 2], { creationTime: 'yesterday' }),
      {},
      /\$\.creationTime: must match format "date-time"/,
    ],
  ])('answers 400 to %s', async (_, message, headers, pattern) => {
    const before = calls.count
    // The signature covers the headers as sent, so the refusal is about the content, not the signature.
    const response = await send(app, message, { headers })
    expect(response.statusCode).toBe(400)
    expect(response.json()).toMatchObject({ code: 'invalid_argument' })
    expect(response.json().message).toMatch(pattern)
    expect(calls.count).toBe(before)
  })

  it('answers 404 to an unknown function, naming it and none of the others', async () => {
    const response = await send(app, runRequest('nope', []))
    expect(response.statusCode).toBe(404)
    const error = response.json()
    expect(error).toEqual({ code: 'not_found', message: 'function "nope" is not registered here' })
    for (const name of Object.keys(routes)) expect(error.message).not.toContain(`"${name}"`)
  })
})

describe('invalid arguments (a RunResponse, not retried)', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    ;({ app } = await makeApp({ routes, verificationKey: false }))
  })
  afterAll(() => app.close())

  async function errorOf(message: unknown) {
    const response = await send(app, message, { sign: false })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.status).toBe('STATUS_INVALID_ARGUMENT')
    return body.exit.result.error as { type: string; message: string }
  }

  it('lists each problem with its JSON path', async () => {
    const error = await errorOf(runRequest('publish', ['not a url', { n: -1, tags: ['a', 2] }]))
    expect(error.type).toBe('InvalidArgumentError')
    expect(error.message).toContain('$[0]: must match format "uri"')
    expect(error.message).toContain('$[1].n: must be >= 0')
    expect(error.message).toContain('$[1].tags[1]: must be string')
  })

  it('refuses missing and extra arguments', async () => {
    expect((await errorOf(runRequest('add', [1]))).message).toContain('$: must NOT have fewer than 2 items')
    expect((await errorOf(runRequest('add', [1, 2, 3]))).message).toMatch(/\$: must NOT have more than 2 items/)
  })

  it('refuses an input that is not an array of arguments, or not a Value', async () => {
    expect(
      (await errorOf({ function: 'add', input: { '@type': 'type.googleapis.com/google.protobuf.Value', value: 3 } }))
        .message,
    ).toContain('array of positional arguments')
    expect(
      (
        await errorOf({
          function: 'add',
          input: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: '1' },
        })
      ).message,
    ).toContain('@type')
  })

  it('validates TypeBox 0.34 schemas (symbol keys) with formats', async () => {
    expect((await errorOf(runRequest('legacy', [{ id: 'x' }]))).message).toContain('$[0].id: must match format "uuid"')
    const ok = await send(app, runRequest('legacy', [{ id: '4b9d1f6e-8c1a-4c0e-9f55-1f0b7c7b2f3a' }]), { sign: false })
    expect(ok.json().status).toBe('STATUS_OK')
  })

  it('accepts omitted optional arguments and runs them with defaults', async () => {
    const response = await send(app, runRequest('greet', ['ada']), { sign: false })
    expect(response.json().exit.result.output.value).toBe('hello ada')
  })
})
