import type { ValidateFunction } from 'ajv'
import { batchAnswerLine } from '../../schemas/batch.js'
import { type Codec, codecOfContentType } from '../../schemas/codec/contentTypes.js'
import { codedMessage } from '../../schemas/errors/codedMessage.js'
import { DispatchError } from '../../schemas/errors/dispatchError.js'
import { dspError } from '../../schemas/errors/dspError.js'
import type { RunRequest } from '../../schemas/run.js'
import { RunRequest as RunRequestSchema } from '../../schemas/run.js'
import type { Status } from '../../schemas/status.js'
import { VALUE_TYPE_URL } from '../../schemas/wellKnown.js'
import { TailCallSignal, toTailCall } from '../client/tailCall.js'
import { CallScope } from '../context/callScope.js'
import { codeVersionOf } from '../coroutine/coroutine.js'
import { decodeJournal } from '../coroutine/journal.js'
import { runTurn, type TurnResult, type TurnSetup } from '../coroutine/runTurn.js'
import type { EndpointMetrics } from '../metrics/endpointMetrics.js'
import { utf8Text } from '../portable/base64.js'
import { writeToOperator } from '../portable/environment.js'
import { BAD_SIGNATURE, REPLAYED, type RequestHeaders } from '../signing/prepareVerification.js'
import type { ReplayCache } from '../signing/replayCache.js'
import type { SignedTarget } from '../signing/signedTarget.js'
import type { VerificationResult } from '../signing/verificationFailure.js'
import { classifyError } from '../status/classifyError.js'
import type { ErrorClass, ErrorClassifier } from '../status/errorClassifier.js'
import { withRunSpan } from '../tracing/runSpan.js'
import { batchCallsOf } from './batchCallsOf.js'
import { BATCH_CONTENT_TYPE, LineQueue } from './batchWire.js'
import type { CompiledRoute } from './compileRoutes.js'
import { describeErrors } from './compileRoutes.js'
import { createAjv } from './createAjv.js'
import type { RequestVerify } from './endpointCrypto.js'
import {
  connectError,
  errorMessageOf,
  failedAnswer,
  invalidRequest,
  okAnswer,
  pollAnswer,
  type RunAnswer,
  tailCallAnswer,
} from './runAnswer.js'

/** An HTTP request as the endpoint sees it, independent of the web framework. */
export interface RunHttpRequest {
  readonly method: string
  /** The path without the query, as received (named in refusals; the signature is checked against `target`). */
  readonly path: string
  /** `Host` (host[:port]), as received (named in refusals; the signature is checked against `target`). */
  readonly authority: string
  readonly headers: RequestHeaders
  /** The raw body bytes. */
  readonly body: Uint8Array
}

export interface RunHandlerOptions {
  readonly routes: ReadonlyMap<string, CompiledRoute>
  /** When set, every request must carry a valid signature (checked by this, with the scheduler's key). */
  readonly verify: RequestVerify | undefined
  /**
   * This endpoint's `@authority` and `@path` (from its own URL, see `endpointTarget`): with a
   * `verify`, a signature must cover exactly these, whatever `Host` and path the request came
   * with; required with `verify`. A function is called for each request; it throws when the
   * URL cannot be known.
   */
  readonly target?: (() => SignedTarget) | undefined
  /** Signatures already accepted within the window: a repeat is refused as a replay. */
  readonly replayCache?: ReplayCache | undefined
  readonly classifiers: ReadonlyMap<ErrorClass, ErrorClassifier['status']>
  /** Where tail calls go when their client names no endpoint. */
  readonly endpoint: string | undefined
  /** The largest coroutine journal kept (bytes of JSON); default 8 MiB. */
  readonly maxJournalBytes?: number | undefined
  /** Told about each failed run (for logs). */
  readonly onFailure?: (functionName: string, status: Status, error: unknown) => void
  /** Told a warning about a run that did not fail (DSP-coded); default: a line on stderr. */
  readonly onWarning?: (functionName: string, message: string) => void
  /** Where runs, validation failures and signature refusals are counted (the `metrics` option). */
  readonly metrics?: EndpointMetrics | undefined
}

// The RunRequest schema is compiled once per process, at first use.
let validateRunRequest: ValidateFunction | undefined
function runRequestValidator(): ValidateFunction {
  validateRunRequest ??= createAjv().compile(RunRequestSchema as object)
  return validateRunRequest
}

function codecOfRequest(value: string | readonly string[] | undefined): Codec | undefined {
  return typeof value === 'string' ? codecOfContentType(value) : undefined
}

// The binary codec is loaded on the first binary request (runProtoCodec.ts says why).
let protoCodec: Promise<typeof import('./runProtoCodec.js')> | undefined
const loadProtoCodec = () => {
  protoCodec ??= import('./runProtoCodec.js')
  return protoCodec
}

function incompatible(message: string): RunAnswer {
  return failedAnswer('STATUS_INCOMPATIBLE_STATE', { type: 'IncompatibleStateError', message })
}

function invalidArgument(functionName: string, lines: string[]): RunAnswer {
  return failedAnswer('STATUS_INVALID_ARGUMENT', {
    type: 'InvalidArgumentError',
    message: `the input does not match the parameters of ${functionName}: ${lines.join('; ')}`,
  })
}

/**
 * The endpoint's request handling without the web framework: verify the signature on the raw
 * bytes, then decode and validate the RunRequest, then validate the arguments, run the function in
 * its call context, classify what it throws, validate and encode what it returns. Every outcome is
 * an answer; nothing here throws.
 */
export function createRunHandler(options: RunHandlerOptions): (request: RunHttpRequest) => Promise<RunAnswer> {
  return createRunHandlers(options).handle
}

/**
 * Runs RunRequests already decoded (objects, not bytes) in this process: the scheduler's in-process
 * functions, where nothing crosses a process boundary, so there is no signature, body or content
 * type. Everything else is as {@link createRunHandler}'s: the message is validated against the
 * RunRequest schema, then the arguments against the function's, and every outcome is an answer.
 */
export function createMessageRunner(
  options: Omit<RunHandlerOptions, 'verify' | 'target' | 'replayCache'>,
): MessageRunner {
  return createRunHandlers({ ...options, verify: undefined }).runDecoded
}

/**
 * Runs one decoded RunRequest and gives its answer to `settle`, once: at once when it is known without
 * running anything (a refusal), else when the run ends. Never throws; an answer callback, rather than
 * a promise of the answer, so that the caller's own promise is the only one it waits on.
 */
export type MessageRunner = (message: unknown, settle: (answer: RunAnswer) => void) => void

function createRunHandlers(options: RunHandlerOptions): {
  handle: (request: RunHttpRequest) => Promise<RunAnswer>
  runDecoded: MessageRunner
} {
  const { routes, verify, classifiers, endpoint, onFailure, metrics } = options
  const targetOf = options.target
  // Never the Host a request arrives with: that would run a request signed for another endpoint.
  if (verify !== undefined && targetOf === undefined) {
    throw dspError(
      'DSP2206',
      "createRunHandler verifies signatures but was given no target (this endpoint's own URL)",
      {
        hint: 'pass target: () => endpointTarget(url, where)',
      },
    )
  }
  const validate = runRequestValidator()

  // What a turn of each function is run with, made on its first run (not again for every call).
  const setups = new Map<string, TurnSetup>()
  function setupOf(name: string, compiled: CompiledRoute): TurnSetup {
    let setup = setups.get(name)
    if (setup === undefined) {
      const handler = compiled.route.handler
      setup = {
        version: () => codeVersionOf(name, handler, compiled.route.version),
        endpoint,
        maxJournalBytes: options.maxJournalBytes,
        classifiers,
        onWarning: (message) => warn(name, message),
      }
      setups.set(name, setup)
    }
    return setup
  }

  async function run(compiled: CompiledRoute, message: RunRequest): Promise<RunAnswer> {
    const name = message.function
    const handler = compiled.route.handler
    let args: unknown
    let resume: TurnSetup['resume']
    if (message.pollResult !== undefined) {
      // A resumed coroutine: its arguments and everything it did so far are in the journal.
      const journal = decodeJournal(message.pollResult.coroutineState)
      if (typeof journal === 'string') return restart(name, `${name} cannot be resumed: ${journal}`)
      if (journal.fn !== name) return restart(name, `the coroutine state belongs to ${journal.fn}, not to ${name}`)
      const version = codeVersionOf(name, handler, compiled.route.version)
      if (journal.ver !== version) {
        return restart(
          name,
          `the code of ${name} changed since this coroutine started (journal version ${journal.ver}, running ${version}); it must restart from its input`,
        )
      }
      args = journal.args
      resume = { journal, pollResult: message.pollResult }
    } else {
      const input = message.input
      if (input === undefined) args = []
      else if (input['@type'] !== VALUE_TYPE_URL) {
        metrics?.invalid(name, 'input')
        return invalidArgument(name, [`input: @type must be ${VALUE_TYPE_URL}, not ${input['@type']}`])
      } else args = input.value ?? []
    }
    if (!Array.isArray(args)) {
      metrics?.invalid(name, 'input')
      return invalidArgument(name, ['$: must be an array of positional arguments'])
    }
    if (!compiled.validateInput(args)) {
      metrics?.invalid(name, 'input')
      return invalidArgument(name, describeErrors('$', compiled.validateInput.errors))
    }

    const scope = new CallScope(message)
    let turn: TurnResult
    try {
      const setup = setupOf(name, compiled)
      turn = await runTurn(handler, args, scope, resume === undefined ? setup : { ...setup, resume })
    } finally {
      scope.close()
    }
    switch (turn.kind) {
      case 'return':
        break
      case 'poll':
        return pollAnswer(turn.poll)
      case 'incompatible':
        return restart(name, turn.message)
      case 'fail':
        // The engine's own failure (a journal over its limit): retrying cannot help.
        return failure(name, 'STATUS_PERMANENT_ERROR', turn.error)
      default: {
        const thrown = turn.error
        if (thrown instanceof TailCallSignal) {
          try {
            return tailCallAnswer(toTailCall(thrown.call, endpoint))
          } catch (error) {
            return invalidResponse(name, `the tail call of ${name} cannot be encoded: ${(error as Error).message}`)
          }
        }
        return failure(name, classifyError(thrown, { classifiers, expired: scope.expired }), thrown)
      }
    }
    const result = turn.value

    const validateOutput = compiled.validateOutput
    if (validateOutput !== undefined && !validateOutput(result)) {
      metrics?.invalid(name, 'output')
      const lines = describeErrors('$', validateOutput.errors)
      return invalidResponse(name, `the result of ${name} does not match its declared output: ${lines.join('; ')}`)
    }
    try {
      return okAnswer(result)
    } catch (error) {
      return invalidResponse(name, `the result of ${name} is not JSON: ${(error as Error).message}`)
    }
  }

  // A resumed turn that cannot replay: the scheduler restarts the call from its input. One warning
  // (onFailure) per restart, with a code, so restarts show in the application's log.
  function restart(name: string, message: string): RunAnswer {
    const text = /^DSP[0-9]{4}: /.test(message) ? message : codedMessage('DSP2266', message)
    report(name, 'STATUS_INCOMPATIBLE_STATE', new Error(text))
    return incompatible(text)
  }

  function warn(name: string, message: string): void {
    try {
      if (options.onWarning === undefined) writeToOperator(`dispatch: warning: ${message}\n`)
      else options.onWarning(name, message)
    } catch {
      // A logger that throws must not reach the function that was running.
    }
  }

  function report(name: string, status: Status, thrown: unknown): void {
    try {
      onFailure?.(name, status, thrown)
    } catch {
      // A logger choking on a hostile thrown value (a throwing getter) must not change the answer.
    }
  }

  function failure(name: string, status: Status, thrown: unknown): RunAnswer {
    report(name, status, thrown)
    return failedAnswer(status, errorMessageOf(thrown))
  }

  /** A failure found by the endpoint itself: no stack of this module is reported. */
  function invalidResponse(name: string, message: string): RunAnswer {
    report(name, 'STATUS_INVALID_RESPONSE', new Error(message))
    return failedAnswer('STATUS_INVALID_RESPONSE', { type: 'InvalidResponseError', message })
  }

  function afterVerification(request: RunHttpRequest): Promise<RunAnswer> | RunAnswer {
    const contentType = request.headers['content-type']
    if (typeof contentType === 'string' && contentType.toLowerCase().startsWith(BATCH_CONTENT_TYPE)) {
      return inBatch(request.body)
    }
    const codec = codecOfRequest(contentType)
    if (codec === undefined) {
      metrics?.invalid('', 'request')
      return invalidRequest(
        `content type ${contentType === undefined ? '(none)' : JSON.stringify(contentType)} is not supported; send application/json or application/proto`,
      )
    }
    if (codec === 'proto') return loadProtoCodec().then((proto) => inProto(proto, request.body))
    let message: unknown
    try {
      message = JSON.parse(utf8Text(request.body))
    } catch (error) {
      metrics?.invalid('', 'request')
      return invalidRequest(`the body is not JSON: ${(error as Error).message}`)
    }
    return runMessage(message)
  }

  /**
   * A batch (docs/protocol.md, "Batched delivery"), its one signature already verified: every call
   * runs at once, each exactly as a single request would (validation, journal, status mapping), and
   * each answer is a line `{"i":index,"code":httpStatus,"answer":…}` streamed as soon as it is ready.
   */
  function inBatch(body: Uint8Array): RunAnswer {
    let message: unknown
    try {
      message = JSON.parse(utf8Text(body))
    } catch (error) {
      metrics?.invalid('', 'request')
      return invalidRequest(codedMessage('DSP2271', `the batch is not JSON: ${(error as Error).message}`))
    }
    const calls = batchCallsOf(message)
    if (typeof calls === 'string') {
      metrics?.invalid('', 'request')
      return invalidRequest(calls)
    }
    const lines = new LineQueue()
    let left = calls.length
    const answered = (index: number, answer: RunAnswer) => {
      lines.push(batchAnswerLine(index, answer.statusCode, answer.body))
      if (--left === 0) lines.end()
    }
    calls.forEach((call, index) => {
      Promise.resolve()
        .then(() => runMessage(call))
        .then(
          (answer) => answered(index, answer),
          (error: unknown) => {
            writeToOperator(`dispatch: the endpoint failed to run a call of a batch: ${String(error)}\n`)
            answered(index, connectError(500, 'internal', 'the endpoint failed to handle the call (its log says why)'))
          },
        )
    })
    return { statusCode: 200, body: '', lines }
  }

  /** A binary request: decoded into its JSON form, run, and answered in binary. */
  async function inProto(proto: typeof import('./runProtoCodec.js'), body: Uint8Array): Promise<RunAnswer> {
    let message: unknown
    try {
      message = proto.decodeRunRequest(body)
    } catch (error) {
      if (!(error instanceof proto.ProtoCodecError)) throw error
      metrics?.invalid('', 'request')
      return invalidRequest(codedMessage('DSP2270', error.message))
    }
    return proto.inProto(await runMessage(message))
  }

  function runMessage(message: unknown): Promise<RunAnswer> | RunAnswer {
    if (!validate(message)) {
      metrics?.invalid('', 'request')
      return invalidRequest(`the body is not a RunRequest: ${describeErrors('$', validate.errors).join('; ')}`)
    }
    const runRequest = message as RunRequest
    const compiled = routes.get(runRequest.function)
    if (compiled === undefined) {
      metrics?.invalid('', 'unknown_function')
      return connectError(404, 'not_found', `function ${JSON.stringify(runRequest.function)} is not registered here`)
    }
    if (metrics === undefined) return withRunSpan(runRequest, () => run(compiled, runRequest))
    return withRunSpan(runRequest, () => measured(metrics, compiled, runRequest))
  }

  async function measured(metrics: EndpointMetrics, compiled: CompiledRoute, message: RunRequest): Promise<RunAnswer> {
    const series = metrics.runStarted(message.function)
    const started = performance.now()
    let status: Status = 'STATUS_PERMANENT_ERROR'
    try {
      const answer = await run(compiled, message)
      status = answer.status ?? status
      return answer
    } finally {
      metrics.runEnded(series, status, (performance.now() - started) / 1000)
    }
  }

  // A signature that does not verify for this endpoint's own URL: say which URL that is, and when the
  // request was addressed to another one, say so (a request signed for another endpoint and forwarded).
  function badSignature(request: RunHttpRequest, target: SignedTarget): RunAnswer {
    const here = `${target.authority}${target.path}`
    const addressed = `${request.authority.toLowerCase()}${request.path}`
    const message =
      addressed === here
        ? codedMessage(
            'DSP2241',
            `the signature does not verify for this endpoint (${here}) with the verification key: it was signed for another endpoint URL, with another key, or the request was changed`,
          )
        : codedMessage(
            'DSP2241',
            `the signature does not verify for this endpoint (${here}): the request was sent to ${addressed}; a request signed for another endpoint never runs here (set DISPATCH_ENDPOINT_URL or endpointUrl to the URL the scheduler is given)`,
          )
    return connectError(403, 'permission_denied', message)
  }

  async function verified(
    request: RunHttpRequest,
    check: RequestVerify,
    targetOf: () => SignedTarget,
  ): Promise<RunAnswer | undefined> {
    const target = targetOf()
    const result: VerificationResult = await check({ ...request, ...target, replayCache: options.replayCache })
    if (result.ok) return undefined
    metrics?.refused(result === BAD_SIGNATURE ? 'bad_signature' : result === REPLAYED ? 'replayed' : 'invalid')
    if (result === BAD_SIGNATURE) return badSignature(request, target)
    return connectError(result.httpStatus, result.code, result.message)
  }

  // Whatever failed (this endpoint's configuration, such as an endpointUrl that cannot be known,
  // or a bug of this module), its details go to the operator's stderr, never to the caller.
  function internalFailure(error: unknown): RunAnswer {
    const detail = error instanceof DispatchError ? error.format() : String(error)
    writeToOperator(`dispatch: the endpoint failed to handle a request: ${detail}\n`)
    const code = error instanceof DispatchError ? `${error.code}: ` : ''
    return connectError(500, 'internal', `${code}the endpoint failed to handle the request (its log says why)`)
  }

  async function handle(request: RunHttpRequest): Promise<RunAnswer> {
    try {
      if (verify !== undefined) {
        const refusal = await verified(request, verify, targetOf!)
        if (refusal !== undefined) return refusal
      }
      return await afterVerification(request)
    } catch (error) {
      return internalFailure(error)
    }
  }

  function runDecoded(message: unknown, settle: (answer: RunAnswer) => void): void {
    let answer: Promise<RunAnswer> | RunAnswer
    try {
      answer = runMessage(message)
    } catch (error) {
      settle(internalFailure(error))
      return
    }
    if (answer instanceof Promise) answer.then(settle, (error: unknown) => settle(internalFailure(error)))
    else settle(answer)
  }

  return { handle, runDecoded }
}
